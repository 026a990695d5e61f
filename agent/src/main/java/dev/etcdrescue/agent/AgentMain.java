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
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code etcd-rescue-agent}: serves RescueAgent on this etcd host until SIGTERM. Its one option is parsed by
 * hand: a command-line library would stay loaded (classes, ~1 MiB) for the agent's whole life.
 */
public final class AgentMain {
    static final int EXIT_CONFIG = 2;
    static final int EXIT_STARTUP = 1;
    static final Path DEFAULT_CONFIG = Path.of("/etc/etcd-rescue/agent.yaml");
    private static final String USAGE = """
            Usage: etcd-rescue-agent [-hV] [--config=FILE]
            Serves the etcd-rescue agent (gRPC over mutual TLS) on this etcd host.
                  --config=FILE   Agent config (default: %s).
              -h, --help          Show this help message and exit.
              -V, --version       Print version information and exit.
            """.formatted(DEFAULT_CONFIG);
    /** How long running calls (e.g. a restore) get to finish after SIGTERM. */
    private static final Duration SHUTDOWN_DEADLINE = Duration.ofSeconds(30);
    private static final Logger log = LoggerFactory.getLogger(AgentMain.class);

    private final Path config;

    private AgentMain(Path config) {
        this.config = config;
    }

    public static void main(String[] args) {
        Path config = DEFAULT_CONFIG;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("-h") || arg.equals("--help")) {
                System.out.print(USAGE);
                System.exit(0);
            } else if (arg.equals("-V") || arg.equals("--version")) {
                System.out.println("etcd-rescue-agent " + AgentVersion.get());
                System.exit(0);
            } else if (arg.startsWith("--config=") && arg.length() > "--config=".length()) {
                config = Path.of(arg.substring("--config=".length()));
            } else if (arg.equals("--config") && i + 1 < args.length) {
                config = Path.of(args[++i]);
            } else {
                System.err.println(arg.startsWith("--config") ? "Missing required parameter for option '--config' (FILE)"
                        : "Unknown option: '" + arg + "'");
                System.err.print(USAGE);
                System.exit(EXIT_CONFIG);
            }
        }
        System.exit(new AgentMain(config).run());
    }

    private int run() {
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
}
