package dev.etcdrescue.agent.it;

import org.junit.jupiter.api.Tag;
import static dev.etcdrescue.agent.testing.AgentFixture.header;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.testsupport.FreePorts;
import dev.etcdrescue.agent.testing.SourceSnapshot;
import dev.etcdrescue.proto.v1.Finding;
import dev.etcdrescue.proto.v1.Member;
import dev.etcdrescue.proto.v1.MemberSpec;
import dev.etcdrescue.proto.v1.PreflightReport;
import dev.etcdrescue.proto.v1.PreflightRequest;
import dev.etcdrescue.proto.v1.Severity;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host with etcd 3.6 and its etcdctl but no etcdutl: etcdctl 3.6 has no snapshot restore or status
 * and answers either with the snapshot group's help and exit 0 (fake tools print that help here).
 */
@Tag("etcd")
@Timeout(120)
class Etcd36ToolsTest {
    private static final String OP = "op-36";
    /** etcdctl 3.6's answer to 'snapshot restore --help' and 'snapshot status ...': cobra's help of 'snapshot'. */
    private static final String SNAPSHOT_HELP = """
            NAME:
            \tsnapshot - Manages etcd node snapshots

            USAGE:
            \tetcdctl snapshot <subcommand> [flags]

            API VERSION:
            \t3.6

            COMMANDS:
            \tsave\tStores an etcd node backend snapshot to a given file

            OPTIONS:
            \t-h, --help[=false]\thelp for snapshot

            GLOBAL OPTIONS:
            \t    --endpoints=[127.0.0.1:2379]\tgRPC endpoints
            """;

    @TempDir
    Path tmp;

    @Test
    void preflightSaysToInstallEtcdutlAndStagingNeverRunsEtcdctlsMissingStatus() throws Exception {
        Path tools = Files.createDirectories(tmp.resolve("tools"));
        Path calls = tmp.resolve("calls.log");
        script(tools.resolve("etcd"), "echo 'etcd Version: 3.6.5'");
        script(tools.resolve("etcdctl"), "echo \"$*\" >> '" + calls + "'\n"
                + "case \"$1\" in version) printf 'etcdctl version: 3.6.5\\nAPI version: 3.6\\n' ;;"
                + " snapshot) cat <<'HELP'\n" + SNAPSHOT_HELP + "HELP\n;; *) exit 1 ;; esac");
        SourceSnapshot snapshot = SourceSnapshot.take(Files.createDirectories(tmp.resolve("source")));
        try (AgentFixture agent = new AgentFixture(tmp.resolve("host"), "", "[" + tools + "]")) {
            agent.claim(OP);
            PreflightReport report = agent.coordinator().preflight(PreflightRequest.newBuilder().setHeader(header(OP))
                    .setMember(member(agent.dataRoot.resolve("new.etcd"))).setNewUnit("etcd_new").setBaseUnit("etcd")
                    .setSkipHashCheck(true).build());

            assertThat(report.getFindingsList()).filteredOn(f -> f.getSeverity() == Severity.ERROR)
                    .extracting(Finding::getCode).containsExactly("restore-tool-cannot-restore");
            assertThat(report.getFindingsList().get(0).getMessage()).contains("etcdctl 3.6.5 at " + tools.resolve("etcdctl"),
                    "no 'snapshot restore'", "install etcdutl 3.6.5", "into " + tools);
            assertThat(report.getPlan().getRestoreCommandList()).as("no argv for a tool that cannot restore").isEmpty();

            assertThatThrownBy(() -> agent.stage(OP, "snap-36", snapshot.bytes(), snapshot.sha256()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                        assertThat(e.getStatus().getDescription()).contains("install etcdutl 3.6.5");
                    });
            assertThat(Files.readAllLines(calls)).as("etcdctl is never asked for a snapshot status it lacks")
                    .noneMatch(line -> line.startsWith("snapshot status"));
        }
    }

    private static MemberSpec member(Path dataDir) {
        String peer = "http://127.0.0.1:" + FreePorts.loopback();
        return MemberSpec.newBuilder().setName("m-0").addPeerUrls(peer).addListenPeerUrls(peer)
                .addClientUrls("http://127.0.0.1:" + FreePorts.loopback()).addListenClientUrls("http://127.0.0.1:" + FreePorts.loopback())
                .setDataDir(dataDir.toString()).setInitialClusterToken("tok")
                .addInitialCluster(Member.newBuilder().setName("m-0").addPeerUrls(peer)).build();
    }

    private static void script(Path file, String body) throws Exception {
        Files.writeString(file, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
