package dev.etcdrescue.coordinator.cli;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.proto.v1.LocalEtcdAccess;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * 'snapshot save --via-agent': what is refused before any agent is asked, and how the inventory
 * becomes the agent's LocalEtcdAccess. The agent side runs for real in the agent's LocalSnapshotTest
 * and on the testbed in SnapshotThroughAgentTest.
 */
@Tag("etcd")
@Timeout(60)
class SnapshotViaAgentTest {
    @TempDir Path tmp;
    private Path inventory;
    private int agentPort;
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @BeforeEach
    void inventoryWithAnAgentThatIsNotThere() throws IOException {
        Path tls = Files.createDirectories(tmp.resolve("pki"));
        CertificateAuthority fleet = CertificateAuthority.create("test fleet", Duration.ofDays(1));
        fleet.writeTo(tls.resolve("ca.pem"), tls.resolve("ca-key.pem"));
        fleet.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1))
                .writeTo(tls.resolve("coordinator.pem"), tls.resolve("coordinator-key.pem"));
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            agentPort = s.getLocalPort();
        }
        inventory = Files.writeString(tmp.resolve("inventory.yaml"), """
                all:
                  vars:
                    agent_port: %d
                    tls_dir: %s
                  children:
                    backup:
                      vars:
                        cluster_token: t
                        peer_port: 22380
                        client_port: 22379
                        snapshot_endpoints:
                          - http://127.0.0.1:2379
                      hosts:
                        b0:
                          address: 127.0.0.1
                        b1:
                          address: 127.0.0.2
                """.formatted(agentPort, tls));
    }

    @Test
    void eitherEndpointsOrViaAgentAndViaAgentNeedsTheInventory() {
        Path file = tmp.resolve("a.db");
        assertThat(run("save", file.toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("give either --endpoints", "or --via-agent HOST with -i");
        assertThat(run("save", "--endpoints", "http://127.0.0.1:2379", "--via-agent", "b0", "-i", inventory.toString(),
                file.toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(run("save", "--via-agent", "b0", file.toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("--via-agent needs -i/--inventory");
        assertThat(run("save", "--endpoints", "http://127.0.0.1:2379", "--endpoint", "http://127.0.0.1:2379",
                file.toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("go with --via-agent");
        assertThat(file).doesNotExist();
    }

    @Test
    void anUnknownHostIsAUsageErrorNamingTheKnownOnes() {
        assertThat(run("save", "-i", inventory.toString(), "--via-agent", "nope", tmp.resolve("a.db").toString()))
                .isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("--via-agent nope: no such host", "(hosts: b0, b1)").doesNotContain("Exception");
    }

    @Test
    void anExistingFileIsRefusedBeforeTheAgentIsAsked() throws IOException {
        Path existing = Files.writeString(tmp.resolve("existing.db"), "keep");
        assertThat(run("save", "-i", inventory.toString(), "--via-agent", "b0", existing.toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("refusing to overwrite " + existing);
        assertThat(Files.readString(existing)).isEqualTo("keep");
    }

    @Test
    void httpsNeedsACaOnTheHostAndHttpTakesNoTlsFiles() {
        assertThat(run("save", "-i", inventory.toString(), "--via-agent", "b0", "--endpoint", "https://127.0.0.1:2379",
                tmp.resolve("a.db").toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("is https: give --etcd-ca-file (a path on b0)");
        assertThat(run("save", "-i", inventory.toString(), "--via-agent", "b0", "--etcd-ca-file", "/etc/etcd/ca.pem",
                tmp.resolve("a.db").toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("http://127.0.0.1:2379 is http: --etcd-ca-file");
    }

    @Test
    void theInventoryGivesTheMembersUrlAndOptionsOverrideIt() {
        var plain = SnapshotViaAgent.resolve(new SnapshotViaAgent.Request(inventory, "b0", null, null, null, null));
        assertThat(plain.access()).isEqualTo(LocalEtcdAccess.newBuilder().setEndpoint("http://127.0.0.1:2379").build());
        assertThat(plain.member().hostName()).isEqualTo("b0");

        var secure = SnapshotViaAgent.resolve(new SnapshotViaAgent.Request(inventory, "b1", "https://127.0.0.2:2379",
                "/etc/etcd/pki/ca.pem", "/etc/etcd/pki/backup.pem", "/etc/etcd/pki/backup-key.pem"));
        assertThat(secure.access()).isEqualTo(LocalEtcdAccess.newBuilder().setEndpoint("https://127.0.0.2:2379")
                .setCaFile("/etc/etcd/pki/ca.pem").setCertFile("/etc/etcd/pki/backup.pem")
                .setKeyFile("/etc/etcd/pki/backup-key.pem").build());
    }

    @Test
    void b1HasNoUrlInSnapshotEndpointsSoItNeedsEndpoint() {
        assertThat(run("save", "-i", inventory.toString(), "--via-agent", "b1", tmp.resolve("a.db").toString()))
                .isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("names no client URL on 127.0.0.2; give --endpoint");
    }

    @Test
    void anUnreachableAgentFailsWithExitOneAndLeavesNoFile() {
        Path file = tmp.resolve("a.db");
        assertThat(run("save", "-i", inventory.toString(), "--via-agent", "b0", "--timeout", "10", file.toString()))
                .isEqualTo(ExitCodes.FAILED);
        assertThat(err.toString()).contains("cannot claim the agent b0 (127.0.0.1:" + agentPort + "): agent b0", "unreachable")
                .doesNotContain("Exception");
        assertThat(file).doesNotExist();
        assertThat(tmp.resolve("a.db.part")).doesNotExist();
    }

    @Test
    void helpShowsTheAgentWay() {
        assertThat(run("save", "--help")).isZero();
        assertThat(out.toString()).contains("--via-agent=HOST", "--endpoint=URL", "--etcd-ca-file=PATH",
                "etcd-rescue snapshot save -i inventory.yaml --via-agent etcd-1");
    }

    private int run(String... args) {
        CommandLine cl = new CommandLine(new SnapshotCommand());
        cl.setExecutionExceptionHandler(new UserErrorHandler());
        cl.setExitCodeExceptionMapper(UserErrorHandler::exitCodeOf);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }
}
