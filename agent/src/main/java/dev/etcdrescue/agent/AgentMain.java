package dev.etcdrescue.agent;

import dev.etcdrescue.agent.config.AgentConfig;
import dev.etcdrescue.agent.config.AgentConfigLoader;
import dev.etcdrescue.agent.config.ConfigException;
import dev.etcdrescue.agent.config.TlsConfig;
import dev.etcdrescue.agent.failpoint.Failpoints;
import dev.etcdrescue.agent.io.ProcessRunner;
import dev.etcdrescue.agent.server.AgentServer;
import dev.etcdrescue.agent.systemd.ProcessSystemctl;
import dev.etcdrescue.pki.TlsContexts;
import io.netty.handler.ssl.SslContext;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code etcd-rescue-agent}: serves RescueAgent on this etcd host until SIGTERM. */
@Command(name = "etcd-rescue-agent", mixinStandardHelpOptions = true, versionProvider = AgentMain.Version.class,
        description = "Serves the etcd-rescue agent (gRPC over mutual TLS) on this etcd host.")
public final class AgentMain implements Callable<Integer> {
    static final int EXIT_CONFIG = 2;
    static final int EXIT_STARTUP = 1;
    /** How long running calls (e.g. a restore) get to finish after SIGTERM. */
    private static final Duration SHUTDOWN_DEADLINE = Duration.ofSeconds(30);
    private static final Logger log = LoggerFactory.getLogger(AgentMain.class);

    @Option(names = "--config", paramLabel = "FILE", description = "Agent config (default: ${DEFAULT-VALUE}).",
            defaultValue = "/etc/etcd-rescue/agent.yaml")
    Path config;

    public static void main(String[] args) {
        System.exit(new CommandLine(new AgentMain()).execute(args));
    }

    @Override
    public Integer call() {
        AgentConfig agentConfig;
        try {
            agentConfig = AgentConfigLoader.load(config);
        } catch (ConfigException e) {
            System.err.println("etcd-rescue-agent: " + e.getMessage());
            return EXIT_CONFIG;
        }
        Failpoints failpoints;
        try {
            failpoints = Failpoints.fromEnvironment(System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println("etcd-rescue-agent: " + e.getMessage());
            return EXIT_CONFIG;
        }
        if (failpoints.isArmed()) {
            log.warn("failpoints armed by {} (a test setting; never set it in production): {}", Failpoints.ENV,
                    failpoints.describe());
        }
        AgentServer server;
        try {
            // PEM read with the JDK (TlsContexts): BouncyCastle is not on the agent's class path (memory).
            TlsConfig tlsFiles = agentConfig.tls();
            SslContext tls = TlsContexts.grpcServer(tlsFiles.cert(), tlsFiles.key(), tlsFiles.ca());
            ProcessRunner runner = new ProcessRunner();
            server = AgentServer.start(agentConfig, agentConfig.listen(), tls,
                    new ProcessSystemctl(agentConfig.systemctl(), runner, agentConfig.commandTimeout()),
                    runner, Clock.systemUTC(), failpoints);
        } catch (Exception e) {
            log.error("etcd-rescue-agent cannot start on {}: {}", agentConfig.listenText(), e.getMessage());
            return EXIT_STARTUP;
        }
        // BoringSSL (netty-tcnative) encrypts transfers several times faster than the JDK; Netty falls back
        // silently when it cannot load, so say which one serves.
        log.info("etcd-rescue-agent {} serving {} on {} (TLS: {})", AgentVersion.get(), agentConfig.hostName(),
                agentConfig.listenText(), io.netty.handler.ssl.OpenSsl.isAvailable() ? "BoringSSL" : "JDK");
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("etcd-rescue-agent stopping (deadline {} s for running calls)", SHUTDOWN_DEADLINE.toSeconds());
            server.shutdown(SHUTDOWN_DEADLINE);
            stopped.countDown();
        }, "agent-shutdown"));
        try {
            server.awaitTermination();
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        log.info("etcd-rescue-agent stopped");
        return 0;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"etcd-rescue-agent " + AgentVersion.get()};
        }
    }
}
