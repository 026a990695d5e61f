package dev.etcdrescue.agent.it;

import org.junit.jupiter.api.Tag;
import static dev.etcdrescue.agent.testing.AgentFixture.header;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.testsupport.FreePorts;
import dev.etcdrescue.agent.testing.SourceSnapshot;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.ConfigureRequest;
import dev.etcdrescue.proto.v1.ConfigureResult;
import dev.etcdrescue.proto.v1.CutOverRequest;
import dev.etcdrescue.proto.v1.CutOverResult;
import dev.etcdrescue.proto.v1.GetStatusRequest;
import dev.etcdrescue.proto.v1.Member;
import dev.etcdrescue.proto.v1.MemberSpec;
import dev.etcdrescue.proto.v1.Phase;
import dev.etcdrescue.proto.v1.ReleaseClaimRequest;
import dev.etcdrescue.proto.v1.RestoreRequest;
import dev.etcdrescue.proto.v1.RestoreResult;
import dev.etcdrescue.proto.v1.RollbackRequest;
import dev.etcdrescue.proto.v1.RollbackResult;
import dev.etcdrescue.proto.v1.UnitRequest;
import dev.etcdrescue.proto.v1.UnitState;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A coordinator that resumes (or retries a call whose reply it lost) repeats calls: with the same
 * operation they must change nothing that is already done, and steps out of order are refused.
 * Real snapshot, real etcdctl restore, real files; systemd is the fake.
 */
@Tag("etcd")
@Timeout(120)
class ResumeAndIdempotencyTest {
    private static final String OP = "op-resume-1";
    private static SourceSnapshot snapshot;

    @TempDir
    static Path shared;
    @TempDir
    Path tmp;
    private AgentFixture agent;
    private Path dataDir;
    private final int peerPort = FreePorts.loopback();
    private final int clientPort = FreePorts.loopback();

    @BeforeAll
    static void takeSnapshot() throws Exception {
        snapshot = SourceSnapshot.take(shared);
    }

    @BeforeEach
    void startAgent() throws Exception {
        agent = new AgentFixture(tmp);
        agent.claim(OP);
        dataDir = agent.dataRoot.resolve("new.etcd");
        Files.createDirectories(dataDir);
        Files.writeString(dataDir.resolve("what-was-there"), "old member data");
    }

    @AfterEach
    void stopAgent() {
        agent.close();
    }

    @Test
    void everyStepRepeatedBySameOperationChangesNothingAndRollbackStillRestoresTheTrueOriginalState() throws Exception {
        agent.stage(OP, "snap-1", snapshot.bytes(), snapshot.sha256());
        RestoreRequest restore = restore("snap-1", "tok");
        RestoreResult restored = agent.coordinator().restoreMember(restore);
        ConfigureResult configured = agent.coordinator().configureMember(configure());
        UnitState started = agent.coordinator().startMember(start());
        CutOverResult cut = agent.coordinator().cutOver(cutOver());
        assertThat(started.getActiveState()).isEqualTo("active");
        assertThat(cut.getOldWasActive()).isTrue();
        assertThat(cut.getOldWasEnabled()).isTrue();

        FileState data = FileState.of(dataDir);
        FileState db = FileState.of(dataDir.resolve("member/snap/db"));
        FileState env = FileState.of(Path.of(configured.getEnvFile()));
        FileState unit = FileState.of(Path.of(configured.getUnitFile()));
        List<String> journal = agent.journalLines(OP);
        List<String> systemctlCalls = agent.systemctl.calls();

        RestoreResult restoredAgain = agent.coordinator().restoreMember(restore);
        ConfigureResult configuredAgain = agent.coordinator().configureMember(configure());
        UnitState startedAgain = agent.coordinator().startMember(start());
        CutOverResult cutAgain = agent.coordinator().cutOver(cutOver());

        assertThat(restoredAgain).isEqualTo(restored);
        assertThat(restoredAgain.getMovedAsideTo()).isEqualTo(dataDir + ".etcd-rescue-" + OP);
        assertThat(configuredAgain.getMovedAsideList()).isEmpty();
        assertThat(configuredAgain.getEnvFileContent()).isEqualTo(configured.getEnvFileContent());
        assertThat(startedAgain.getActiveState()).isEqualTo("active");
        assertThat(cutAgain.getOldWasActive()).as("the state before the FIRST cut-over").isTrue();
        assertThat(cutAgain.getOldWasEnabled()).isTrue();
        assertThat(FileState.of(dataDir)).isEqualTo(data);
        assertThat(FileState.of(dataDir.resolve("member/snap/db"))).isEqualTo(db);
        assertThat(FileState.of(Path.of(configured.getEnvFile()))).isEqualTo(env);
        assertThat(FileState.of(Path.of(configured.getUnitFile()))).isEqualTo(unit);
        assertThat(Path.of(dataDir + ".etcd-rescue-" + OP + ".1")).doesNotExist();
        assertThat(agent.journalLines(OP)).isEqualTo(journal);
        // No second start, enable, stop or disable: with real systemd a start of an active unit would
        // be a no-op as well, but the agent does not even ask.
        assertThat(agent.systemctl.calls()).isEqualTo(systemctlCalls);
        assertThat(phase()).isEqualTo(Phase.CUT_OVER);

        refused(() -> agent.coordinator().restoreMember(restore("snap-1", "another-token")), Status.Code.FAILED_PRECONDITION,
                "RestoreMember is refused in phase CUT_OVER of operation " + OP + ": the new member was started from the"
                        + " restored data dir, a new restore would move it away under the running member: Rollback first");

        RollbackResult rollback = agent.coordinator().rollback(rollback());
        assertThat(rollback.getActions(0)).isEqualTo("stopped etcd_new, started by this operation");
        assertThat(rollback.getActionsList()).contains("re-enabled etcd, as it was before the operation",
                "started etcd again, as it was active before the operation",
                "moved " + dataDir + ".etcd-rescue-" + OP + " back to " + dataDir);
        assertThat(dataDir.resolve("what-was-there")).hasContent("old member data");
        assertThat(agent.systemctl.show("etcd").getActiveState()).isEqualTo("active");
        assertThat(agent.systemctl.show("etcd").getUnitFileState()).isEqualTo("enabled");
        assertThat(phase()).isEqualTo(Phase.ROLLED_BACK);
    }

    @Test
    void aRestoreTheAgentDidNotLiveToFinishIsMovedAsideAndDoneAgain() throws Exception {
        agent.stage(OP, "snap-1", snapshot.bytes(), snapshot.sha256());
        RestoreResult first = agent.coordinator().restoreMember(restore("snap-1", "tok"));
        Object firstInode = Files.getAttribute(dataDir, "unix:ino");
        // The journal as an agent killed between the tool's exit and the completion record leaves it.
        Path journalFile = agent.config.journalDir().resolve(OP + ".jsonl");
        List<String> lines = Files.readAllLines(journalFile);
        int completed = indexOf(lines, "RESTORE_COMPLETED");
        Files.write(journalFile, lines.subList(0, completed));

        agent.restart();
        var status = agent.coordinator().getStatus(GetStatusRequest.getDefaultInstance());
        assertThat(status.getPhase()).isEqualTo(Phase.FAILED);
        assertThat(status.getLastResult()).contains("RESTORING was interrupted");

        RestoreResult again = agent.coordinator().restoreMember(restore("snap-1", "tok"));

        Path partial = Path.of(dataDir + ".etcd-rescue-" + OP + ".partial");
        assertThat(partial.resolve("member/snap/db")).exists();
        assertThat(Files.getAttribute(partial, "unix:ino")).isEqualTo(firstInode);
        assertThat(Files.getAttribute(dataDir, "unix:ino")).isNotEqualTo(firstInode);
        assertThat(dataDir.resolve("member/snap/db")).exists();
        assertThat(again.getMovedAsideTo()).as("where the original still is").isEqualTo(first.getMovedAsideTo());
        assertThat(Path.of(again.getMovedAsideTo()).resolve("what-was-there")).hasContent("old member data");
        assertThat(phase()).isEqualTo(Phase.RESTORED);

        agent.coordinator().rollback(rollback());
        assertThat(dataDir.resolve("what-was-there")).hasContent("old member data");
        assertThat(partial).exists();
    }

    @Test
    void anotherMemberSpecOrAnotherOperationRestoresAgainAndMovesTheFirstAside() throws Exception {
        agent.stage(OP, "snap-1", snapshot.bytes(), snapshot.sha256());
        agent.coordinator().restoreMember(restore("snap-1", "tok"));

        RestoreResult otherToken = agent.coordinator().restoreMember(restore("snap-1", "tok-2"));
        assertThat(otherToken.getMovedAsideTo()).isEqualTo(dataDir + ".etcd-rescue-" + OP + ".1");
        assertThat(Path.of(otherToken.getMovedAsideTo()).resolve("member/snap/db")).exists();

        agent.coordinator().releaseClaim(ReleaseClaimRequest.newBuilder().setHeader(header(OP)).build());
        agent.claim("op-resume-2");
        assertThat(agent.coordinator().beginTransfer(BeginTransferRequest.newBuilder().setHeader(header("op-resume-2"))
                .setTransferId("snap-1").setSha256(snapshot.sha256()).setTotalSize(snapshot.bytes().length).build())
                .getComplete()).as("staged files outlive their operation").isTrue();
        RestoreResult otherOperation = agent.coordinator().restoreMember(restore("snap-1", "tok-2").toBuilder()
                .setHeader(header("op-resume-2")).build());
        assertThat(otherOperation.getMovedAsideTo()).isEqualTo(dataDir + ".etcd-rescue-op-resume-2");
    }

    @Test
    void stepsOutOfOrderAreRefusedSayingWhatMustHappenFirst() throws Exception {
        Files.move(dataDir, agent.dataRoot.resolve("elsewhere"));
        refused(() -> agent.coordinator().startMember(start()), Status.Code.FAILED_PRECONDITION,
                "StartMember is refused in phase CLAIMED of operation " + OP + ": ConfigureMember first");
        refused(() -> agent.coordinator().configureMember(configure()), Status.Code.FAILED_PRECONDITION,
                "ConfigureMember is refused in phase CLAIMED of operation " + OP + ": RestoreMember first (ConfigureMember"
                        + " before a restore is accepted only when member.data_dir already exists)");
        refused(() -> agent.coordinator().restoreMember(restore("snap-x", "tok")), Status.Code.FAILED_PRECONDITION,
                "RestoreMember is refused in phase CLAIMED of operation " + OP
                        + ": announce and upload the snapshot first (BeginTransfer, UploadSnapshot)");
        refused(() -> agent.coordinator().cutOver(cutOver()), Status.Code.FAILED_PRECONDITION,
                "CutOver is refused in phase CLAIMED of operation " + OP + ": StartMember first, and verify the new cluster");

        assertThat(agent.systemctl.calls()).isEmpty();
        assertThat(agent.envDir.resolve("etcd_new")).doesNotExist();
        assertThat(phase()).isEqualTo(Phase.CLAIMED);
    }

    @Test
    void aRollbackAfterAFailedRestorePutsTheDataDirBack() throws Exception {
        byte[] raw = Files.readAllBytes(shared.resolve("source.etcd/member/snap/db"));
        String rawSha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(raw));
        agent.stage(OP, "raw-db", raw, rawSha);

        refused(() -> agent.coordinator().restoreMember(restore("raw-db", "tok")), Status.Code.FAILED_PRECONDITION,
                "snapshot restore failed");
        assertThat(dataDir).doesNotExist();
        assertThat(phase()).isEqualTo(Phase.FAILED);

        RollbackResult rollback = agent.coordinator().rollback(rollback());

        assertThat(rollback.getActionsList()).containsExactly(
                "moved " + dataDir + ".etcd-rescue-" + OP + " back to " + dataDir, "reloaded systemd");
        assertThat(dataDir.resolve("what-was-there")).hasContent("old member data");
        assertThat(agent.systemctl.calls()).containsExactly("daemon-reload");
    }

    @Test
    void aRollbackOfAnOperationThatDidNothingIsEmpty() throws Exception {
        RollbackResult rollback = agent.coordinator().rollback(rollback());

        assertThat(rollback.getActionsList()).isEmpty();
        assertThat(rollback.getMovedAsideList()).isEmpty();
        assertThat(agent.systemctl.calls()).isEmpty();
        assertThat(dataDir.resolve("what-was-there")).hasContent("old member data");
    }

    @Test
    void theRequestsBaseUnitNamesTheDataDirsOwner() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "handing a tree to another user needs root");
        Files.writeString(agent.root.resolve("lib/systemd/system/etcd-daemon.service"),
                "[Service]\nUser=daemon\nExecStart=/usr/bin/etcd\n");
        agent.stage(OP, "snap-1", snapshot.bytes(), snapshot.sha256());

        refused(() -> agent.coordinator().restoreMember(restore("snap-1", "tok").toBuilder().setBaseUnit("etcd-nope").build()),
                Status.Code.FAILED_PRECONDITION, "base unit etcd-nope.service was not found in");
        refused(() -> agent.coordinator().restoreMember(restore("snap-1", "tok").toBuilder().setBaseUnit("../etcd").build()),
                Status.Code.INVALID_ARGUMENT, "base_unit must be a unit name");
        assertThat(dataDir.resolve("what-was-there")).as("nothing moved").hasContent("old member data");

        RestoreResult restored = agent.coordinator().restoreMember(restore("snap-1", "tok").toBuilder()
                .setBaseUnit("etcd-daemon.service").build());
        assertThat(restored.getOwner()).isEqualTo("daemon");
        assertThat(Files.getOwner(dataDir).getName()).isEqualTo("daemon");
        assertThat(Files.getOwner(dataDir.resolve("member/snap/db")).getName()).isEqualTo("daemon");
    }

    private Phase phase() throws Exception {
        return agent.coordinator().getStatus(GetStatusRequest.getDefaultInstance()).getPhase();
    }

    private static int indexOf(List<String> lines, String kind) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains("\"kind\":\"" + kind + "\"")) {
                return i;
            }
        }
        throw new AssertionError("no " + kind + " in the journal: " + lines);
    }

    private static void refused(ThrowingCallable call, Status.Code code, String message) {
        assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(code);
            assertThat(e.getStatus().getDescription()).contains(message);
        });
    }

    /** The same ports for the whole test, so that a repeated request is the same request. */
    private MemberSpec memberFor(String token) {
        String peer = "http://127.0.0.1:" + peerPort;
        return MemberSpec.newBuilder().setName("m-0").addPeerUrls(peer).addClientUrls("http://127.0.0.1:" + clientPort)
                .setDataDir(dataDir.toString()).setInitialClusterToken(token)
                .addInitialCluster(Member.newBuilder().setName("m-0").addPeerUrls(peer)).build();
    }

    private RestoreRequest restore(String transferId, String token) {
        return RestoreRequest.newBuilder().setHeader(header(OP)).setTransferId(transferId).setMember(memberFor(token)).build();
    }

    private ConfigureRequest configure() {
        return ConfigureRequest.newBuilder().setHeader(header(OP)).setMember(memberFor("tok")).setNewUnit("etcd_new")
                .setBaseUnit("etcd").build();
    }

    private static UnitRequest start() {
        return UnitRequest.newBuilder().setHeader(header(OP)).setUnit("etcd_new").build();
    }

    private static CutOverRequest cutOver() {
        return CutOverRequest.newBuilder().setHeader(header(OP)).setNewUnit("etcd_new").setOldUnit("etcd").build();
    }

    private static RollbackRequest rollback() {
        return RollbackRequest.newBuilder().setHeader(header(OP)).build();
    }

    /** What must not change when nothing is done to a path: which file it is, and when it was last written. */
    private record FileState(Object inode, FileTime modified) {
        static FileState of(Path path) throws Exception {
            return new FileState(Files.getAttribute(path, "unix:ino"), Files.getLastModifiedTime(path));
        }
    }
}
