package dev.etcdrescue.agent.it;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.etcdrescue.testsupport.FreePorts;
import dev.etcdrescue.agent.testing.TestCerts;
import dev.etcdrescue.proto.v1.GetStatusRequest;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The agent as a real process: startup line, serving over mTLS, SIGTERM, and a bad config. */
@Tag("etcd")
@Timeout(60)
class AgentMainTest {
    @TempDir
    Path tmp;

    @Test
    void servesUntilSigterm() throws Exception {
        TestCerts certs = new TestCerts(tmp.resolve("tls"), "main-host");
        int port = FreePorts.loopback();
        Path config = tmp.resolve("agent.yaml");
        Files.writeString(config, """
                host_name: main-host
                listen: 127.0.0.1:%d
                tls: {ca: %s, cert: %s, key: %s}
                state_dir: %s
                allowed_data_roots: [%s]
                env_dir: %s
                unit_dir: %s
                base_unit_dirs: [/lib/systemd/system]
                tool_dirs: [/usr/bin]
                """.formatted(port, certs.dir.resolve("ca.pem"), certs.dir.resolve("agent.pem"),
                certs.dir.resolve("agent-key.pem"), tmp.resolve("state"), tmp.resolve("data"), tmp, tmp));
        Path log = tmp.resolve("agent.log");
        Process agent = start(config, log);
        ManagedChannel channel = null;
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> Files.readString(log).contains("serving"));
            assertThat(Files.readString(log)).contains("etcd-rescue-agent dev serving main-host on 127.0.0.1:" + port);

            channel = NettyChannelBuilder.forAddress("127.0.0.1", port)
                    .sslContext(certs.clientContext(certs.coordinator)).build();
            var status = RescueAgentGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
                    .getStatus(GetStatusRequest.getDefaultInstance());
            assertThat(status.getHostName()).isEqualTo("main-host");

            agent.destroy();
            assertThat(agent.waitFor(20, TimeUnit.SECONDS)).isTrue();
            assertThat(Files.readString(log)).contains("etcd-rescue-agent stopping");
        } finally {
            if (channel != null) {
                channel.shutdownNow();
            }
            agent.destroyForcibly();
        }
    }

    @Test
    void aBadConfigIsOneLineNamingFileAndFieldAndExitTwo() throws Exception {
        Path config = tmp.resolve("agent.yaml");
        Files.writeString(config, "host_name: h\nlisten: 127.0.0.1:1\nlisten_port: 3\n");
        Path log = tmp.resolve("agent.log");
        Process agent = start(config, log);
        try {
            assertThat(agent.waitFor(20, TimeUnit.SECONDS)).isTrue();
            assertThat(agent.exitValue()).isEqualTo(2);
            List<String> lines = Files.readAllLines(log);
            assertThat(lines).singleElement().asString().startsWith("etcd-rescue-agent: agent config " + config
                    + ": field listen_port: unknown key; allowed keys are [allowed_data_roots, backup, backup_dirs, base_unit,")
                    .endsWith(", unit_dir, units]");
        } finally {
            agent.destroyForcibly();
        }
    }

    private static Process start(Path config, Path log) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        return new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                "dev.etcdrescue.agent.AgentMain", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }
}
