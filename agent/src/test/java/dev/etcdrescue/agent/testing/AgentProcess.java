package dev.etcdrescue.agent.testing;

import dev.etcdrescue.testsupport.FreePorts;

import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The agent as its own JVM ({@code AgentMain}), so that a test can SIGKILL it mid-call as a crash (or
 * {@code systemctl kill -s SIGKILL}) would, and start it again on the same files. Real mTLS, real
 * files under {@code root}, the real etcdctl (or the tools in {@code toolDirs}); systemctl is never
 * called by the RPCs these tests use.
 */
public final class AgentProcess implements AutoCloseable {
    public final Path root;
    public final Path dataRoot;
    public final Path stateDir;
    public final Path stagingDir;
    public final TestCerts certs;
    private final Path config;
    private final Path log;
    private final int port;
    private final List<ManagedChannel> channels = new ArrayList<>();
    private Process process;

    /**
     * @param toolDirs YAML list of tool dirs
     * @param extraYaml extra top-level lines of agent.yaml (e.g. "restore_timeout: PT3S")
     */
    public AgentProcess(Path root, String toolDirs, String extraYaml) throws Exception {
        this.root = root;
        dataRoot = Files.createDirectories(root.resolve("var/lib/etcd"));
        Path envDir = Files.createDirectories(root.resolve("etc/default"));
        Path unitDir = Files.createDirectories(root.resolve("etc/systemd/system"));
        stateDir = root.resolve("var/lib/etcd-rescue-agent");
        stagingDir = stateDir.resolve("staging");
        Path baseUnits = Files.createDirectories(root.resolve("lib/systemd/system"));
        Files.writeString(baseUnits.resolve("etcd.service"), Files.readString(AgentFixture.DEBIAN_UNIT)
                .replace("User=etcd", "User=" + System.getProperty("user.name")));
        certs = new TestCerts(root.resolve("tls"), AgentFixture.HOST);
        port = FreePorts.loopback();
        config = root.resolve("agent.yaml");
        log = root.resolve("agent.log");
        Files.writeString(config, """
                host_name: %s
                listen: 127.0.0.1:%d
                tls: {ca: %s, cert: %s, key: %s}
                state_dir: %s
                allowed_data_roots: [%s]
                env_dir: %s
                unit_dir: %s
                base_unit_dirs: [%s]
                tool_dirs: %s
                max_claim_ttl: PT10M
                %s
                """.formatted(AgentFixture.HOST, port, certs.dir.resolve("ca.pem"), certs.dir.resolve("agent.pem"),
                certs.dir.resolve("agent-key.pem"), stateDir, dataRoot, envDir, unitDir, baseUnits, toolDirs, extraYaml));
    }

    /** Starts the JVM and waits until it serves (a new "serving" line in its log). */
    public AgentProcess start() throws Exception {
        long servedBefore = servingLines();
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        process = new ProcessBuilder(java.toString(), "-Xmx64m", "-cp", System.getProperty("java.class.path"),
                "dev.etcdrescue.agent.AgentMain", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the agent exited with " + process.exitValue() + ":\n" + log());
            }
            if (servingLines() > servedBefore) {
                return this;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the agent did not serve within 60 s:\n" + log());
    }

    private long servingLines() throws IOException {
        return log().lines().filter(l -> l.contains(" serving " + AgentFixture.HOST)).count();
    }

    /** SIGKILL to the agent and every process it started (systemd's KillMode=control-group does the same). */
    public void kill() throws InterruptedException {
        channels.forEach(ManagedChannel::shutdownNow);
        channels.clear();
        List<ProcessHandle> children = process.descendants().toList();
        process.destroyForcibly();
        children.forEach(ProcessHandle::destroyForcibly);
        process.waitFor(20, TimeUnit.SECONDS);
        for (ProcessHandle child : children) {
            child.onExit().toCompletableFuture().orTimeout(20, TimeUnit.SECONDS).exceptionally(t -> null).join();
        }
    }

    public RescueAgentGrpc.RescueAgentBlockingStub coordinator() throws IOException {
        return RescueAgentGrpc.newBlockingStub(channel()).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    public RescueAgentGrpc.RescueAgentStub coordinatorAsync() throws IOException {
        return RescueAgentGrpc.newStub(channel()).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    private ManagedChannel channel() throws IOException {
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port)
                .sslContext(certs.clientContext(certs.coordinator)).build();
        channels.add(channel);
        return channel;
    }

    public static OperationHeader header(String operationId) {
        return AgentFixture.header(operationId);
    }

    public String log() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            kill();
        }
        channels.forEach(ManagedChannel::shutdownNow);
    }
}
