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
import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
    private static final Pattern PKCS8_PEM =
            Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

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
            SslContext tls = serverTls(agentConfig.tls());
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

    /**
     * Reads the PEM files with the JDK's own parsers when the key is PKCS#8 (what {@code pki issue} writes):
     * given file names, Netty parses the key with BouncyCastle whenever it is on the class path, and loading
     * BouncyCastle's signed jars costs the agent about 15 MiB resident for as long as it runs.
     * Other key forms go through Netty's parser as before.
     */
    static SslContext serverTls(TlsConfig tls) throws IOException, GeneralSecurityException {
        String keyPem = Files.readString(tls.key(), StandardCharsets.US_ASCII);
        Matcher pkcs8 = PKCS8_PEM.matcher(keyPem);
        if (!pkcs8.find()) {
            return TlsContexts.grpcServer(tls.cert(), tls.key(), tls.ca());
        }
        PrivateKey key = pkcs8Key(Base64.getMimeDecoder().decode(pkcs8.group(1)));
        return GrpcSslContexts.configure(SslContextBuilder.forServer(key, certificates(tls.cert())))
                .trustManager(certificates(tls.ca()))
                .clientAuth(ClientAuth.REQUIRE)
                .build();
    }

    private static PrivateKey pkcs8Key(byte[] der) throws GeneralSecurityException {
        GeneralSecurityException last = null;
        for (String algorithm : new String[] {"EC", "RSA", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw new GeneralSecurityException("the PKCS#8 key is neither EC, RSA nor Ed25519: " + last.getMessage(), last);
    }

    private static X509Certificate[] certificates(Path pem) throws IOException, GeneralSecurityException {
        try (InputStream in = Files.newInputStream(pem)) {
            X509Certificate[] certificates = CertificateFactory.getInstance("X.509").generateCertificates(in).stream()
                    .map(X509Certificate.class::cast).toArray(X509Certificate[]::new);
            if (certificates.length == 0) {
                throw new GeneralSecurityException(pem + " holds no PEM certificate");
            }
            return certificates;
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"etcd-rescue-agent " + AgentVersion.get()};
        }
    }
}
