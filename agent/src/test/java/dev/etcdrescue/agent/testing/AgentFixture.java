package dev.etcdrescue.agent.testing;

import dev.etcdrescue.agent.config.AgentConfig;
import dev.etcdrescue.agent.config.AgentConfigLoader;
import dev.etcdrescue.agent.failpoint.Failpoints;
import dev.etcdrescue.agent.io.ProcessRunner;
import dev.etcdrescue.agent.server.AgentServer;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.TlsContexts;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.ClaimRequest;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import dev.etcdrescue.proto.v1.TransferResult;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * A real agent server on 127.0.0.1 with real mTLS and real files under a temp dir; only systemd is
 * faked. The base unit is Debian's etcd.service text with User= set to the user running the tests,
 * so restored data dirs can be handed over without root.
 */
public final class AgentFixture implements AutoCloseable {
    public static final String HOST = "test-host-0";
    public static final String CLUSTER = "test-cluster";
    public static final Path DEBIAN_UNIT = Path.of("/lib/systemd/system/etcd.service");

    public final Path root;
    public final Path dataRoot;
    public final Path envDir;
    public final Path unitDir;
    public final Path stateDir;
    public final Path backupDir;
    public final String hostName;
    public final TestCerts certs;
    public final FakeSystemctl systemctl = new FakeSystemctl().withUnit("etcd", true, true);
    public AgentConfig config;
    public AgentServer server;
    private final SslContext tls;
    private final List<ManagedChannel> channels = new ArrayList<>();

    public AgentFixture(Path root) throws Exception {
        this(root, "");
    }

    /** @param tlsExtra extra lines inside the tls: block, e.g. "coordinator_cn: x" */
    public AgentFixture(Path root, String tlsExtra) throws Exception {
        this(root, tlsExtra, "[/usr/local/bin, /usr/bin]");
    }

    /** @param toolDirs the YAML list of tool dirs */
    public AgentFixture(Path root, String tlsExtra, String toolDirs) throws Exception {
        this(root, tlsExtra, toolDirs, HOST, null, "");
    }

    /** @param extraYaml top-level agent.yaml lines added to the fixture's, e.g. "units: [etcd, etcd_new]" */
    public static AgentFixture withConfig(Path root, String tlsExtra, String extraYaml) throws Exception {
        return new AgentFixture(root, tlsExtra, "[/usr/local/bin, /usr/bin]", HOST, null, extraYaml);
    }

    /** Another host of the same fleet as {@code sameFleet} (same CA and coordinator), e.g. for relays. */
    public AgentFixture(Path root, String hostName, TestCerts sameFleet) throws Exception {
        this(root, "", "[/usr/local/bin, /usr/bin]", hostName, sameFleet, "");
    }

    /** Another host of {@code sameFleet}'s fleet (null: a new fleet) with {@code extraYaml} added to its agent.yaml. */
    public static AgentFixture peer(Path root, String hostName, TestCerts sameFleet, String extraYaml) throws Exception {
        return new AgentFixture(root, "", "[/usr/local/bin, /usr/bin]", hostName, sameFleet, extraYaml);
    }

    private AgentFixture(Path root, String tlsExtra, String toolDirs, String hostName, TestCerts sameFleet,
                         String extraYaml) throws Exception {
        this.root = root;
        this.hostName = hostName;
        dataRoot = Files.createDirectories(root.resolve("var/lib/etcd"));
        envDir = Files.createDirectories(root.resolve("etc/default"));
        unitDir = Files.createDirectories(root.resolve("etc/systemd/system"));
        stateDir = root.resolve("var/lib/etcd-rescue-agent");
        backupDir = Files.createDirectories(root.resolve("var/backups/etcd"));
        Path baseUnits = Files.createDirectories(root.resolve("lib/systemd/system"));
        Files.writeString(baseUnits.resolve("etcd.service"), Files.readString(DEBIAN_UNIT)
                .replace("User=etcd", "User=" + System.getProperty("user.name")));
        certs = new TestCerts(root.resolve("tls"), hostName, sameFleet);
        Path configFile = root.resolve("agent.yaml");
        Files.writeString(configFile, """
                host_name: %s
                listen: 127.0.0.1:7443
                tls:
                  ca: %s
                  cert: %s
                  key: %s
                  %s
                state_dir: %s
                allowed_data_roots: [%s]
                env_dir: %s
                unit_dir: %s
                base_unit_dirs: [%s, %s]
                tool_dirs: %s
                backup_dirs: [%s]
                max_claim_ttl: PT10M
                restore_timeout: PT1M
                command_timeout: PT30S
                %s
                """.formatted(hostName, certs.dir.resolve("ca.pem"), certs.dir.resolve("agent.pem"),
                certs.dir.resolve("agent-key.pem"), tlsExtra, stateDir, dataRoot, envDir, unitDir, unitDir, baseUnits,
                toolDirs, backupDir, extraYaml));
        config = AgentConfigLoader.load(configFile);
        tls = TlsContexts.grpcServer(config.tls().cert(), config.tls().key(), config.tls().ca());
        server = AgentServer.start(config, new InetSocketAddress("127.0.0.1", 0), tls, systemctl,
                new ProcessRunner(), Clock.systemUTC());
    }

    /**
     * Stops the agent and starts a new one on the same files (claim, journal, staging, data), as after
     * a crash or a reboot; systemd (the fake) keeps its state, as it would.
     */
    public void restart() throws IOException {
        channels.forEach(ManagedChannel::shutdownNow);
        channels.clear();
        server.shutdown(java.time.Duration.ofSeconds(5));
        server = AgentServer.start(config, new InetSocketAddress("127.0.0.1", 0), tls, systemctl, new ProcessRunner(),
                Clock.systemUTC());
    }

    /** {@link #restart()} with the failpoints of {@code spec} armed (the syntax of {@link Failpoints#ENV}). */
    public void restartWithFailpoints(String spec) throws IOException {
        channels.forEach(ManagedChannel::shutdownNow);
        channels.clear();
        server.shutdown(java.time.Duration.ofSeconds(5));
        server = AgentServer.start(config, new InetSocketAddress("127.0.0.1", 0), tls, systemctl, new ProcessRunner(),
                Clock.systemUTC(), Failpoints.parse(spec));
    }

    /**
     * Adds {@code tlsLines} (YAML lines, each indented for the tls: block) to agent.yaml's tls block and
     * restarts the agent on the new configuration.
     */
    public void reconfigureTls(String... tlsLines) throws Exception {
        Path file = root.resolve("agent.yaml");
        String key = "  key: " + certs.dir.resolve("agent-key.pem") + "\n";
        Files.writeString(file, Files.readString(file).replace(key, key + "  " + String.join("\n  ", tlsLines) + "\n"));
        config = AgentConfigLoader.load(file);
        restart();
    }

    /** A blocking stub as the fleet coordinator, with a deadline. */
    public RescueAgentGrpc.RescueAgentBlockingStub coordinator() throws IOException {
        return RescueAgentGrpc.newBlockingStub(channel(certs.clientContext(certs.coordinator)))
                .withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    public RescueAgentGrpc.RescueAgentStub coordinatorAsync() throws IOException {
        return RescueAgentGrpc.newStub(channel(certs.clientContext(certs.coordinator)))
                .withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    /** A blocking stub with any identity and trust anchor. */
    public RescueAgentGrpc.RescueAgentBlockingStub as(IssuedCertificate identity) throws IOException {
        return RescueAgentGrpc.newBlockingStub(channel(TlsContexts.grpcClient(identity, certs.fleet.certificate())))
                .withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    public ManagedChannel channel(SslContext tls) {
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).sslContext(tls).build();
        channels.add(channel);
        return channel;
    }

    public static OperationHeader header(String operationId) {
        return OperationHeader.newBuilder().setClusterName(CLUSTER).setOperationId(operationId).setHostName(HOST).build();
    }

    /** The header of {@code operationId} for this fixture's host. */
    public OperationHeader headerFor(String operationId) {
        return header(operationId).toBuilder().setHostName(hostName).build();
    }

    /** host:port of this agent, as a relay grant names it. */
    public String endpoint() {
        return "127.0.0.1:" + server.port();
    }

    public void claim(String operationId) throws IOException {
        coordinator().claim(ClaimRequest.newBuilder().setHeader(headerFor(operationId)).setTtlMs(60_000).build());
    }

    /** Announces and uploads {@code bytes} as transfer {@code transferId} of {@code operationId}. */
    public TransferResult stage(String operationId, String transferId, byte[] bytes, String sha256) throws Exception {
        coordinator().beginTransfer(BeginTransferRequest.newBuilder().setHeader(headerFor(operationId))
                .setTransferId(transferId).setSha256(sha256).setTotalSize(bytes.length).build());
        return Uploads.upload(coordinatorAsync(), headerFor(operationId), transferId, bytes, 0, UnaryOperator.identity());
    }

    /** The operation's journal, one JSON line per entry. */
    public List<String> journalLines(String operationId) throws IOException {
        Path file = config.journalDir().resolve(operationId + ".jsonl");
        return Files.exists(file) ? Files.readAllLines(file) : List.of();
    }

    @Override
    public void close() {
        channels.forEach(ManagedChannel::shutdownNow);
        server.shutdown(java.time.Duration.ofSeconds(5));
    }
}
