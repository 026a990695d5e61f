package dev.etcdrescue.agent.it;

import org.junit.jupiter.api.Tag;
import static dev.etcdrescue.agent.testing.AgentFixture.header;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.testsupport.LocalEtcd;
import dev.etcdrescue.testsupport.FreePorts;
import dev.etcdrescue.agent.testing.SourceSnapshot;
import dev.etcdrescue.agent.testing.Uploads;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.ClaimRequest;
import dev.etcdrescue.proto.v1.Member;
import dev.etcdrescue.proto.v1.MemberSpec;
import dev.etcdrescue.proto.v1.RestoreRequest;
import dev.etcdrescue.proto.v1.RestoreResult;
import dev.etcdrescue.proto.v1.RestoreTool;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.proto.v1.TransferState;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's core path with real parts: a real etcd's snapshot, uploaded over real mTLS in 64 KiB
 * chunks, restored with the real etcdctl, and a real etcd started from the restored data dir.
 */
@Tag("etcd")
@Timeout(120)
class TransferAndRestoreTest {
    private static final String OP = "op-restore-1";
    private static SourceSnapshot snapshot;

    @TempDir
    static Path shared;
    @TempDir
    Path tmp;
    private AgentFixture agent;

    @BeforeAll
    static void takeSnapshot() throws Exception {
        snapshot = SourceSnapshot.take(shared);
        assertThat(snapshot.bytes().length).isGreaterThan(8 * Uploads.CHUNK);
    }

    @BeforeEach
    void startAgent() throws Exception {
        agent = new AgentFixture(tmp);
        agent.claim(OP);
    }

    @AfterEach
    void stopAgent() {
        agent.close();
    }

    @Test
    void uploadRestoreAndStartAMemberThatStillHoldsTheKey() throws Exception {
        TransferResult transfer = transfer("snap-1");
        assertThat(transfer.getSha256()).isEqualTo(snapshot.sha256());
        assertThat(transfer.getSize()).isEqualTo(snapshot.bytes().length);
        assertThat(transfer.getHasHashTrailer()).isTrue();
        assertThat(transfer.getSnapshotStatus().getRevision()).isGreaterThan(1);
        assertThat(transfer.getSnapshotStatus().getTotalKeys()).isGreaterThanOrEqualTo(101);
        assertThat(Path.of(transfer.getStagedPath())).hasParent(agent.config.stagingDir()).exists();

        Path dataDir = agent.dataRoot.resolve("new.etcd");
        Files.createDirectories(dataDir);
        Files.writeString(dataDir.resolve("what-was-there"), "old member data");
        int client = FreePorts.loopback();
        int peer = FreePorts.loopback();
        RestoreResult restored = agent.coordinator().restoreMember(RestoreRequest.newBuilder()
                .setHeader(header(OP)).setTransferId("snap-1")
                .setMember(member("restored-0", peer, client, dataDir.toString())).build());

        assertThat(restored.getTool().getKind()).isEqualTo(RestoreTool.ETCDCTL);
        assertThat(restored.getTool().getSupportsSkipHashCheck()).isTrue();
        assertThat(restored.getCommandList()).contains("--name=restored-0", "--data-dir=" + dataDir);
        assertThat(restored.getMovedAsideTo()).isEqualTo(dataDir + ".etcd-rescue-" + OP);
        assertThat(Path.of(restored.getMovedAsideTo()).resolve("what-was-there")).hasContent("old member data");
        assertThat(restored.getOwner()).isEqualTo(System.getProperty("user.name"));
        assertThat(Files.getOwner(dataDir).getName()).isEqualTo(System.getProperty("user.name"));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dataDir))).isEqualTo("rwx------");
        assertThat(dataDir.resolve("member/snap/db")).exists();

        try (LocalEtcd member = LocalEtcd.startRestored(dataDir, "restored-0", client, peer, tmp.resolve("restored.log"))) {
            assertThat(member.etcdctl("get", SourceSnapshot.MARKER_KEY, "--print-value-only").strip())
                    .isEqualTo(SourceSnapshot.MARKER_VALUE);
            assertThat(member.etcdctl("member", "list")).contains("restored-0", "http://127.0.0.1:" + peer);
        }
        assertThat(Files.readString(agent.stateDir.resolve("audit.log")))
                .contains("\"rpc\":\"UploadSnapshot\"", "\"rpc\":\"RestoreMember\"", "\"peer\":\"etcd-rescue-coordinator\"");
    }

    @Test
    void anInterruptedUploadResumesFromTheDurableOffset() throws Exception {
        begin("snap-resume", snapshot.sha256(), snapshot.bytes().length);
        Uploads.uploadThenCancel(agent.coordinatorAsync(), header(OP), "snap-resume", snapshot.bytes(), 4);

        TransferState resumed = await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(
                () -> begin("snap-resume", snapshot.sha256(), snapshot.bytes().length), s -> s.getDurableOffset() > 0);
        assertThat(resumed.getDurableOffset()).isLessThanOrEqualTo(4L * Uploads.CHUNK);
        assertThat(resumed.getComplete()).isFalse();

        TransferResult result = Uploads.upload(agent.coordinatorAsync(), header(OP), "snap-resume", snapshot.bytes(),
                resumed.getDurableOffset(), UnaryOperator.identity());
        assertThat(result.getSha256()).isEqualTo(snapshot.sha256());
        assertThat(Path.of(result.getStagedPath())).hasBinaryContent(snapshot.bytes());

        TransferState again = begin("snap-resume", snapshot.sha256(), snapshot.bytes().length);
        assertThat(again.getComplete()).isTrue();
        assertThat(again.getResult().getSha256()).isEqualTo(snapshot.sha256());
        assertThat(again.getResult().getHasHashTrailer()).isTrue();
    }

    /**
     * Told that another host reads etcd's snapshot status of this file, the agent does not read it (a pass
     * over the whole database); announced again by a coordinator that wants it, it reads it then, from the
     * staged file, and the restore does not need it either way.
     */
    @Test
    void theSnapshotStatusIsLeftToAnotherHostWhenTheCoordinatorSaysSo() throws Exception {
        TransferState begun = agent.coordinator().beginTransfer(BeginTransferRequest.newBuilder().setHeader(header(OP))
                .setTransferId("snap-nostatus").setSha256(snapshot.sha256()).setTotalSize(snapshot.bytes().length)
                .setSource("file:" + snapshot.file()).setSkipSnapshotStatus(true).build());
        assertThat(begun.getDurableOffset()).isZero();
        TransferResult result = Uploads.upload(agent.coordinatorAsync(), header(OP), "snap-nostatus", snapshot.bytes(), 0,
                UnaryOperator.identity());
        assertThat(result.getSha256()).isEqualTo(snapshot.sha256());
        assertThat(result.getHasHashTrailer()).isTrue();
        assertThat(result.hasSnapshotStatus()).isFalse();

        TransferState again = begin("snap-nostatus", snapshot.sha256(), snapshot.bytes().length);
        assertThat(again.getComplete()).isTrue();
        assertThat(again.getResult().hasSnapshotStatus()).isTrue();
        assertThat(again.getResult().getSnapshotStatus().getTotalKeys()).isGreaterThanOrEqualTo(101);

        Path dataDir = agent.dataRoot.resolve("nostatus.etcd");
        RestoreResult restored = agent.coordinator().restoreMember(RestoreRequest.newBuilder()
                .setHeader(header(OP)).setTransferId("snap-nostatus")
                .setMember(member("restored-1", FreePorts.loopback(), FreePorts.loopback(), dataDir.toString())).build());
        assertThat(dataDir.resolve("member/snap/db")).exists();
        assertThat(restored.getCommandList()).contains("--name=restored-1");
    }

    /**
     * A live stream (no size, no digest) broken off by a coordinator that died after its snapshot was checked:
     * the same transfer announced with the digest continues from what the agent holds; announced live again
     * (a snapshot taken anew), it starts over, the partial file moved aside.
     */
    @Test
    void anInterruptedLiveStreamContinuesOnceItsDigestIsAnnouncedAndStartsOverWhenLiveAgain() throws Exception {
        begin("snap-live-cut", "", 0);
        Uploads.uploadThenCancel(agent.coordinatorAsync(), header(OP), "snap-live-cut", snapshot.bytes(), 4);
        TransferState relive = await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(
                () -> begin("snap-live-cut", "", 0), s -> s.getDurableOffset() == 0);
        assertThat(relive.getComplete()).isFalse();
        try (Stream<Path> files = Files.list(agent.config.stagingDir())) {
            assertThat(files.map(p -> p.getFileName().toString())).as("live again: the partial file is moved aside, not continued")
                    .anyMatch(n -> n.startsWith("snap-live-cut.part.stale-"));
        }

        Uploads.uploadThenCancel(agent.coordinatorAsync(), header(OP), "snap-live-cut", snapshot.bytes(), 4);
        TransferState resumed = await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(
                () -> begin("snap-live-cut", snapshot.sha256(), snapshot.bytes().length), s -> s.getDurableOffset() > 0);
        assertThat(resumed.getDurableOffset()).isLessThanOrEqualTo(4L * Uploads.CHUNK);
        TransferResult result = Uploads.upload(agent.coordinatorAsync(), header(OP), "snap-live-cut", snapshot.bytes(),
                resumed.getDurableOffset(), UnaryOperator.identity());
        assertThat(result.getSha256()).isEqualTo(snapshot.sha256());
        assertThat(result.getHasHashTrailer()).isTrue();
        assertThat(Path.of(result.getStagedPath())).hasBinaryContent(snapshot.bytes());
    }

    @Test
    void aChunkCorruptedInFlightIsDataLossAndNothingOutsideStagingChanges() throws Exception {
        TransferResult control = transfer("snap-control");
        assertThat(control.getSha256()).isEqualTo(snapshot.sha256());
        Map<String, Long> before = treeOutsideStaging();

        begin("snap-corrupt", snapshot.sha256(), snapshot.bytes().length);
        UnaryOperator<dev.etcdrescue.proto.v1.SnapshotChunk> flipOneByte = chunk -> {
            if (chunk.getOffset() != 3L * Uploads.CHUNK) {
                return chunk;
            }
            byte[] data = chunk.getData().toByteArray();
            data[100] ^= 0x01;
            return chunk.toBuilder().setData(com.google.protobuf.ByteString.copyFrom(data)).build();
        };
        assertThatThrownBy(() -> Uploads.upload(agent.coordinatorAsync(), header(OP), "snap-corrupt", snapshot.bytes(), 0,
                flipOneByte))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DATA_LOSS);
                    assertThat(e.getStatus().getDescription()).startsWith("digest mismatch: expected " + snapshot.sha256() + " got ");
                });

        Path staging = agent.config.stagingDir();
        assertThat(staging.resolve("snap-corrupt.db")).doesNotExist();
        assertThat(staging.resolve("snap-corrupt.part")).doesNotExist();
        try (Stream<Path> files = Files.list(staging)) {
            assertThat(files.map(p -> p.getFileName().toString())).anyMatch(n -> n.startsWith("snap-corrupt.part.corrupt-"));
        }
        assertThat(treeOutsideStaging()).isEqualTo(before);
    }

    @Test
    void aLiveStreamCarriesItsDigestInTheLastChunkAndANonSnapshotIsRefused() throws Exception {
        begin("snap-live", "", 0);
        TransferResult live = Uploads.upload(agent.coordinatorAsync(), header(OP), "snap-live", snapshot.bytes(), 0,
                chunk -> chunk.getLast() ? chunk.toBuilder().setFinalSha256(snapshot.sha256())
                        .setFinalSize(snapshot.bytes().length).build() : chunk);
        assertThat(live.getSha256()).isEqualTo(snapshot.sha256());
        assertThat(live.getHasHashTrailer()).isTrue();

        byte[] garbage = new byte[3 * 512 + 32];
        new java.util.Random(7).nextBytes(garbage);
        String garbageSha = java.util.HexFormat.of().formatHex(
                java.security.MessageDigest.getInstance("SHA-256").digest(garbage));
        begin("not-a-snapshot", garbageSha, garbage.length);
        assertThatThrownBy(() -> Uploads.upload(agent.coordinatorAsync(), header(OP), "not-a-snapshot", garbage, 0,
                UnaryOperator.identity()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription()).contains("not a readable etcd snapshot", ".invalid-");
                });
        assertThat(agent.config.stagingDir().resolve("not-a-snapshot.db")).doesNotExist();
    }

    @Test
    void chunksOutOfOrderOrBeyondTheAnnouncedSizeAreInvalid() throws Exception {
        begin("snap-gap", snapshot.sha256(), snapshot.bytes().length);
        UnaryOperator<dev.etcdrescue.proto.v1.SnapshotChunk> skipAhead = chunk -> chunk.getOffset() == Uploads.CHUNK
                ? chunk.toBuilder().setOffset(2L * Uploads.CHUNK).build() : chunk;

        assertThatThrownBy(() -> Uploads.upload(agent.coordinatorAsync(), header(OP), "snap-gap", snapshot.bytes(), 0, skipAhead))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("chunk at offset 131072, expected 65536");
                });

        begin("snap-short", snapshot.sha256(), 1000);
        assertThatThrownBy(() -> Uploads.upload(agent.coordinatorAsync(), header(OP), "snap-short", snapshot.bytes(), 0,
                UnaryOperator.identity()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("beyond the announced size 1000");
                });
    }

    @Test
    void aBackupFileIsDownloadedInChunksWithItsDigest() throws Exception {
        Path backup = agent.backupDir.resolve("nightly.db");
        Files.write(backup, snapshot.bytes());
        java.io.ByteArrayOutputStream received = new java.io.ByteArrayOutputStream();
        String finalSha = "";
        var chunks = agent.coordinator().downloadSnapshot(dev.etcdrescue.proto.v1.DownloadSnapshotRequest.newBuilder()
                .setHeader(header(OP)).setPath(backup.toString()).setChunkSize(Uploads.CHUNK).build());
        int count = 0;
        while (chunks.hasNext()) {
            var chunk = chunks.next();
            assertThat(chunk.getOffset()).isEqualTo(received.size());
            received.write(chunk.getData().toByteArray());
            count++;
            if (chunk.getLast()) {
                finalSha = chunk.getFinalSha256();
                assertThat(chunk.getFinalSize()).isEqualTo(snapshot.bytes().length);
            }
        }
        assertThat(count).isGreaterThan(8);
        assertThat(received.toByteArray()).isEqualTo(snapshot.bytes());
        assertThat(finalSha).isEqualTo(snapshot.sha256());

        var outside = agent.coordinator().downloadSnapshot(dev.etcdrescue.proto.v1.DownloadSnapshotRequest.newBuilder()
                .setHeader(header(OP)).setPath(agent.config.tls().key().toString()).build());
        assertThatThrownBy(outside::hasNext).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).contains("outside the allowed roots");
        });
    }

    @Test
    void aTransferLargerThanTheFreeDiskIsRefusedUpFront() {
        assertThatThrownBy(() -> begin("too-big", snapshot.sha256(), 1L << 60))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                    assertThat(e.getStatus().getDescription()).contains(agent.config.stagingDir().toString(), "bytes free");
                });
    }

    @Test
    void aSecondOperationIsRefusedWhileTheClaimIsHeld() throws Exception {
        assertThatThrownBy(() -> agent.coordinator().claim(ClaimRequest.newBuilder().setHeader(header("op-other")).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription()).contains("claimed by operation " + OP);
                });
        assertThatThrownBy(() -> agent.coordinator().beginTransfer(BeginTransferRequest.newBuilder()
                .setHeader(header("op-other")).setTransferId("x").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));
        assertThat(Files.readString(agent.stateDir.resolve("audit.log")))
                .contains("\"operation\":\"op-other\",\"result\":\"FAILED_PRECONDITION: this agent is claimed by operation " + OP);
    }

    @Test
    void aRequestForAnotherHostIsRefused() {
        assertThatThrownBy(() -> agent.coordinator().beginTransfer(BeginTransferRequest.newBuilder()
                .setHeader(header(OP).toBuilder().setHostName("test-host-7")).setTransferId("x").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription()).isEqualTo("this agent is host test-host-0, the request is for"
                            + " host test-host-7: check the inventory's agent endpoint");
                });
    }

    @Test
    void pathTraversalInTheDataDirIsRefusedBeforeAnythingMoves() throws Exception {
        transfer("snap-2");
        String escape = agent.dataRoot + "/../../../etc/evil";

        assertThatThrownBy(() -> agent.coordinator().restoreMember(RestoreRequest.newBuilder().setHeader(header(OP))
                .setTransferId("snap-2").setMember(member("m", FreePorts.loopback(), FreePorts.loopback(), escape)).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("member.data_dir", "'..'");
                });
        assertThatThrownBy(() -> agent.coordinator().restoreMember(RestoreRequest.newBuilder().setHeader(header(OP))
                .setTransferId("snap-2").setMember(member("m", FreePorts.loopback(), FreePorts.loopback(),
                        tmp.resolve("elsewhere").toString())).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getDescription()).contains("outside the allowed roots"));
        assertThat(tmp.resolve("elsewhere")).doesNotExist();
        assertThat(agent.root.resolve("etc/evil")).doesNotExist();
    }

    @Test
    void aRawDbFromADeadMemberNeedsSkipHashCheckAndAFailedRestoreLeavesItsOutputAside() throws Exception {
        byte[] raw = Files.readAllBytes(shared.resolve("source.etcd/member/snap/db"));
        String rawSha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(raw));
        begin("raw-db", rawSha, raw.length);
        TransferResult staged = Uploads.upload(agent.coordinatorAsync(), header(OP), "raw-db", raw, 0, UnaryOperator.identity());
        assertThat(staged.getHasHashTrailer()).isFalse();
        Path dataDir = agent.dataRoot.resolve("raw.etcd");
        RestoreRequest.Builder restore = RestoreRequest.newBuilder().setHeader(header(OP)).setTransferId("raw-db")
                .setMember(member("raw-0", FreePorts.loopback(), FreePorts.loopback(), dataDir.toString()));

        assertThatThrownBy(() -> agent.coordinator().restoreMember(restore.build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription()).contains("snapshot restore failed", "exited with",
                            "skip-hash-check");
                });
        assertThat(dataDir).doesNotExist();

        RestoreResult restored = agent.coordinator().restoreMember(restore.setSkipHashCheck(true).build());
        assertThat(restored.getCommandList()).contains("--skip-hash-check");
        assertThat(dataDir.resolve("member/snap/db")).exists();
    }

    @Test
    void aBumpOnEtcdctl34IsRefusedNamingTheTool() throws Exception {
        transfer("snap-3");
        Path dataDir = agent.dataRoot.resolve("bumped.etcd");

        assertThatThrownBy(() -> agent.coordinator().restoreMember(RestoreRequest.newBuilder().setHeader(header(OP))
                .setTransferId("snap-3").setBumpRevision(1_000_000).setMarkCompacted(true)
                .setMember(member("m", FreePorts.loopback(), FreePorts.loopback(), dataDir.toString())).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription()).contains("etcdctl 3.4.23", "--bump-revision");
                });
        assertThat(dataDir).doesNotExist();
    }

    private TransferResult transfer(String id) throws Exception {
        TransferState state = begin(id, snapshot.sha256(), snapshot.bytes().length);
        assertThat(state.getDurableOffset()).isZero();
        return Uploads.upload(agent.coordinatorAsync(), header(OP), id, snapshot.bytes(), 0, UnaryOperator.identity());
    }

    private TransferState begin(String id, String sha, long size) throws Exception {
        return agent.coordinator().beginTransfer(BeginTransferRequest.newBuilder().setHeader(header(OP))
                .setTransferId(id).setSha256(sha).setTotalSize(size).setSource("file:" + snapshot.file()).build());
    }

    private static MemberSpec member(String name, int peer, int client, String dataDir) {
        String peerUrl = "http://127.0.0.1:" + peer;
        return MemberSpec.newBuilder().setName(name).addPeerUrls(peerUrl).addClientUrls("http://127.0.0.1:" + client)
                .setDataDir(dataDir).setInitialClusterToken("restored-token")
                .addInitialCluster(Member.newBuilder().setName(name).addPeerUrls(peerUrl)).build();
    }

    /** Every file under the fixture's root except staging, the audit log and the journal (which records phases), with its size. */
    private Map<String, Long> treeOutsideStaging() throws Exception {
        Map<String, Long> tree = new TreeMap<>();
        try (Stream<Path> files = Files.walk(agent.root)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (p.startsWith(agent.config.stagingDir()) || p.equals(agent.config.auditLog())
                        || p.startsWith(agent.config.journalDir())) {
                    continue;
                }
                tree.put(agent.root.relativize(p).toString(), Files.isRegularFile(p) ? Files.size(p) : -1L);
            }
        }
        return tree;
    }
}
