package dev.etcdrescue.agent.it;

import org.junit.jupiter.api.Tag;
import static dev.etcdrescue.agent.testing.AgentFixture.header;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.testsupport.LocalEtcd;
import dev.etcdrescue.testsupport.FreePorts;
import dev.etcdrescue.agent.testing.SourceSnapshot;
import dev.etcdrescue.agent.testing.Uploads;
import dev.etcdrescue.proto.v1.AgentStatus;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.GetStatusRequest;
import dev.etcdrescue.proto.v1.Member;
import dev.etcdrescue.proto.v1.MemberSpec;
import dev.etcdrescue.proto.v1.RestoreRequest;
import dev.etcdrescue.proto.v1.RestoreResult;
import dev.etcdrescue.proto.v1.RestoreTool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * etcdutl 3.5 (from .tools/, fetched by the project's tool script) is preferred over etcdctl, and its
 * --bump-revision/--mark-compacted, detected from its help, are used. Skipped when .tools is absent.
 */
@Tag("etcd")
@Timeout(90)
class EtcdutlRestoreTest {
    private static final Path TOOLS = Path.of(System.getProperty("user.dir")).resolve("../.tools/etcd-3.5.16/bin").normalize();
    private static final String OP = "op-etcdutl";

    @TempDir
    Path tmp;

    @Test
    void restoresWithABumpedRevisionAndAnEtcd35StartsFromIt() throws Exception {
        assumeTrue(Files.isExecutable(TOOLS.resolve("etcdutl")), "etcdutl 3.5.16 is not in " + TOOLS);
        SourceSnapshot snapshot = SourceSnapshot.take(Files.createDirectories(tmp.resolve("source")));
        try (AgentFixture agent = new AgentFixture(tmp.resolve("agent"), "", "[" + TOOLS + ", /usr/bin]")) {
            AgentStatus status = agent.coordinator().getStatus(GetStatusRequest.getDefaultInstance());
            assertThat(status.getRestoreTool().getKind()).isEqualTo(RestoreTool.ETCDUTL);
            assertThat(status.getRestoreTool().getVersion()).isEqualTo("3.5.16");
            assertThat(status.getRestoreTool().getSupportsBumpRevision()).isTrue();
            assertThat(status.getRestoreTool().getSupportsMarkCompacted()).isTrue();
            assertThat(status.getEtcdVersion()).isEqualTo("3.5.16");

            agent.claim(OP);
            agent.coordinator().beginTransfer(BeginTransferRequest.newBuilder().setHeader(header(OP)).setTransferId("s")
                    .setSha256(snapshot.sha256()).setTotalSize(snapshot.bytes().length).build());
            Uploads.upload(agent.coordinatorAsync(), header(OP), "s", snapshot.bytes(), 0, UnaryOperator.identity());
            int client = FreePorts.loopback();
            int peer = FreePorts.loopback();
            String peerUrl = "http://127.0.0.1:" + peer;
            Path dataDir = agent.dataRoot.resolve("bumped.etcd");
            RestoreResult restored = agent.coordinator().restoreMember(RestoreRequest.newBuilder().setHeader(header(OP))
                    .setTransferId("s").setBumpRevision(1_000_000).setMarkCompacted(true)
                    .setMember(MemberSpec.newBuilder().setName("b-0").addPeerUrls(peerUrl)
                            .setDataDir(dataDir.toString()).setInitialClusterToken("tok")
                            .addInitialCluster(Member.newBuilder().setName("b-0").addPeerUrls(peerUrl))).build());

            assertThat(restored.getCommandList()).first().isEqualTo(TOOLS.resolve("etcdutl").toString());
            assertThat(restored.getCommandList()).contains("--bump-revision=1000000", "--mark-compacted");
            try (LocalEtcd member = LocalEtcd.startRestored(TOOLS.resolve("etcd"), dataDir, "b-0", client, peer,
                    tmp.resolve("member.log"))) {
                assertThat(member.etcdctl("get", SourceSnapshot.MARKER_KEY, "--print-value-only").strip())
                        .isEqualTo(SourceSnapshot.MARKER_VALUE);
                String header = member.etcdctl("get", SourceSnapshot.MARKER_KEY, "-w", "json");
                long revision = Long.parseLong(header.replaceAll("(?s).*\"revision\":(\\d+).*", "$1"));
                assertThat(revision).isGreaterThan(1_000_000);
            }
        }
    }
}
