package dev.etcdrescue.agent.it;

import org.junit.jupiter.api.Tag;
import static dev.etcdrescue.agent.testing.AgentFixture.header;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.agent.testing.AgentProcess;
import dev.etcdrescue.testsupport.LocalEtcd;
import dev.etcdrescue.testsupport.FreePorts;
import dev.etcdrescue.agent.testing.SourceSnapshot;
import dev.etcdrescue.agent.testing.Uploads;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.ClaimRequest;
import dev.etcdrescue.proto.v1.GetStatusRequest;
import dev.etcdrescue.proto.v1.Member;
import dev.etcdrescue.proto.v1.MemberSpec;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import dev.etcdrescue.proto.v1.RestoreRequest;
import dev.etcdrescue.proto.v1.RestoreResult;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.proto.v1.TransferState;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults on the agent's side, with real processes: the agent SIGKILLed mid-transfer and mid-restore
 * (then started again on the same files), the disk filling up during a transfer and during a restore
 * (a small tmpfs, root only), and a restore tool that fails. After each, nothing half-written is
 * where etcd or systemd would read it, the original data is intact, and the operation completes
 * when repeated.
 */
@Tag("etcd")
@Timeout(180)
class AgentFaultsTest {
    private static final String OP = "op-faults";
    private static SourceSnapshot snapshot;

    @TempDir
    static Path shared;
    @TempDir
    Path tmp;

    @BeforeAll
    static void takeSnapshot() throws Exception {
        snapshot = SourceSnapshot.take(shared);
    }

    @Test
    void anAgentKilledMidTransferResumesFromItsDurableOffset() throws Exception {
        try (AgentProcess agent = new AgentProcess(tmp, "[/usr/bin]", "").start()) {
            agent.coordinator().claim(ClaimRequest.newBuilder().setHeader(header(OP)).setTtlMs(120_000).build());
            begin(agent.coordinator(), "snap-kill");
            int sent = 6;
            sendWithoutFinishing(agent.coordinatorAsync(), "snap-kill", sent);
            Path part = agent.stagingDir.resolve("snap-kill.part");
            await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(part) && Files.size(part) >= (long) sent * Uploads.CHUNK);

            agent.kill();
            assertThat(Files.size(part)).isEqualTo((long) sent * Uploads.CHUNK);
            agent.start();

            assertThat(agent.coordinator().getStatus(GetStatusRequest.getDefaultInstance()).getClaim().getOperationId())
                    .as("the claim outlives the crash").isEqualTo(OP);
            TransferState resumed = begin(agent.coordinator(), "snap-kill");
            assertThat(resumed.getComplete()).isFalse();
            assertThat(resumed.getDurableOffset()).isEqualTo((long) sent * Uploads.CHUNK);
            TransferResult done = Uploads.upload(agent.coordinatorAsync(), header(OP), "snap-kill", snapshot.bytes(),
                    resumed.getDurableOffset(), UnaryOperator.identity());
            assertThat(done.getSha256()).isEqualTo(snapshot.sha256());
            assertThat(Path.of(done.getStagedPath())).hasBinaryContent(snapshot.bytes());
            assertThat(done.getHasHashTrailer()).isTrue();
            assertThat(part).doesNotExist();
        }
    }

    @Test
    void anAgentKilledMidRestoreRestoresAgainOnRepeatAndKeepsTheOriginalAside() throws Exception {
        Path tools = slowRestoreTools(tmp.resolve("tools"));
        try (AgentProcess agent = new AgentProcess(tmp.resolve("host"), "[" + tools + "]", "").start()) {
            var coordinator = agent.coordinator();
            coordinator.claim(ClaimRequest.newBuilder().setHeader(header(OP)).setTtlMs(120_000).build());
            begin(coordinator, "snap-r");
            Uploads.upload(agent.coordinatorAsync(), header(OP), "snap-r", snapshot.bytes(), 0, UnaryOperator.identity());
            Path dataDir = agent.dataRoot.resolve("new.etcd");
            Files.createDirectories(dataDir);
            Files.writeString(dataDir.resolve("what-was-there"), "old member data");
            int client = FreePorts.loopback();
            int peer = FreePorts.loopback();
            RestoreRequest restore = RestoreRequest.newBuilder().setHeader(header(OP)).setTransferId("snap-r")
                    .setMember(member("m0", peer, client, dataDir.toString())).build();

            Files.writeString(tools.resolve("slow"), "");
            CompletableFuture<RestoreResult> first = CompletableFuture.supplyAsync(() -> {
                try {
                    return agent.coordinator().restoreMember(restore);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(dataDir.resolve("member/partial")));
            agent.kill();
            assertThat(first).failsWithin(Duration.ofSeconds(20));
            Files.delete(tools.resolve("slow"));
            Path original = agent.dataRoot.resolve("new.etcd.etcd-rescue-" + OP);
            assertThat(original.resolve("what-was-there")).hasContent("old member data");
            assertThat(dataDir.resolve("member/partial")).as("what the killed restore left").exists();

            agent.start();
            RestoreResult again = agent.coordinator().restoreMember(restore);
            assertThat(again.getDataDir()).isEqualTo(dataDir.toString());
            assertThat(agent.dataRoot.resolve("new.etcd.etcd-rescue-" + OP + ".partial/member/partial"))
                    .as("the interrupted output is kept aside, not deleted").exists();
            assertThat(original.resolve("what-was-there")).hasContent("old member data");
            assertThat(dataDir.resolve("member/partial")).doesNotExist();
            try (LocalEtcd member = LocalEtcd.startRestored(dataDir, "m0", client, peer, tmp.resolve("restored.log"))) {
                assertThat(member.etcdctl("get", SourceSnapshot.MARKER_KEY, "--print-value-only").strip())
                        .isEqualTo(SourceSnapshot.MARKER_VALUE);
            }
        }
    }

    @Test
    void aFailingRestoreToolLeavesNoPartialDataDirAndTheOriginalAside() throws Exception {
        Path tools = failingRestoreTools(tmp.resolve("tools"));
        try (AgentFixture agent = new AgentFixture(tmp.resolve("host"), "", "[" + tools + "]")) {
            agent.claim(OP);
            agent.stage(OP, "snap-f", snapshot.bytes(), snapshot.sha256());
            Path dataDir = agent.dataRoot.resolve("new.etcd");
            Files.createDirectories(dataDir);
            Files.writeString(dataDir.resolve("what-was-there"), "old member data");
            RestoreRequest restore = RestoreRequest.newBuilder().setHeader(header(OP)).setTransferId("snap-f")
                    .setMember(member("m0", FreePorts.loopback(), FreePorts.loopback(), dataDir.toString())).build();

            Files.writeString(tools.resolve("fail"), "");
            assertThatThrownBy(() -> agent.coordinator().restoreMember(restore))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                        assertThat(e.getStatus().getDescription()).contains("snapshot restore failed", "input/output error",
                                "partial output was moved to " + dataDir + ".etcd-rescue-" + OP + ".failed");
                    });
            assertThat(dataDir).as("nothing half-restored where etcd would read it").doesNotExist();
            assertThat(agent.dataRoot.resolve("new.etcd.etcd-rescue-" + OP + "/what-was-there")).hasContent("old member data");
            assertThat(agent.dataRoot.resolve("new.etcd.etcd-rescue-" + OP + ".failed/member/partial")).exists();
            assertThat(agent.config.stagingDir().resolve("snap-f.db")).as("the snapshot is still staged").exists();

            Files.delete(tools.resolve("fail"));
            RestoreResult fixed = agent.coordinator().restoreMember(restore);
            assertThat(Path.of(fixed.getDataDir()).resolve("member/snap/db")).exists();
            assertThat(agent.dataRoot.resolve("new.etcd.etcd-rescue-" + OP + "/what-was-there")).hasContent("old member data");
        }
    }

    @Test
    void aDiskThatFillsDuringTheTransferIsResourceExhaustedAndTheTransferResumesOnceFreed() throws Exception {
        assumeTrue(isRoot(), "mounting a tmpfs needs root");
        try (AgentFixture agent = new AgentFixture(tmp.resolve("host"))) {
            Path staging = agent.config.stagingDir();
            // Larger than the snapshot plus BeginTransfer's 64 MiB margin, so the announcement passes.
            mount(staging, "70m");
            try {
                agent.claim(OP);
                Map<String, Long> before = treeOutside(agent.root, staging, agent.config.auditLog(), agent.config.journalDir());
                begin(agent.coordinator(), "snap-full");
                long free = Files.getFileStore(staging).getUsableSpace();
                Path filler = staging.resolve("filler");
                run("fallocate", "-l", Long.toString(free - 3 * Uploads.CHUNK), filler.toString());

                assertThatThrownBy(() -> Uploads.upload(agent.coordinatorAsync(), header(OP), "snap-full", snapshot.bytes(), 0,
                        UnaryOperator.identity()))
                        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                            assertThat(e.getStatus().getDescription()).contains("no space left", "free disk space on this host");
                        });
                assertThat(staging.resolve("snap-full.db")).doesNotExist();
                assertThat(treeOutside(agent.root, staging, agent.config.auditLog(), agent.config.journalDir())).isEqualTo(before);

                Files.delete(filler);
                TransferState resumed = begin(agent.coordinator(), "snap-full");
                assertThat(resumed.getDurableOffset()).isPositive();
                TransferResult done = Uploads.upload(agent.coordinatorAsync(), header(OP), "snap-full", snapshot.bytes(),
                        resumed.getDurableOffset(), UnaryOperator.identity());
                assertThat(done.getSha256()).isEqualTo(snapshot.sha256());
            } finally {
                agent.close();
                umount(staging);
            }
        }
    }

    @Test
    void aDiskThatFillsDuringTheRestoreFailsItCleanlyAndNothingHalfRestoredRemains() throws Exception {
        assumeTrue(isRoot(), "mounting a tmpfs needs root");
        try (AgentFixture agent = new AgentFixture(tmp.resolve("host"))) {
            agent.claim(OP);
            agent.stage(OP, "snap-d", snapshot.bytes(), snapshot.sha256());
            // Room for a few files, not for the db and the WAL etcd preallocates.
            mount(agent.dataRoot, "2m");
            try {
                Path dataDir = agent.dataRoot.resolve("new.etcd");
                assertThatThrownBy(() -> agent.coordinator().restoreMember(RestoreRequest.newBuilder().setHeader(header(OP))
                        .setTransferId("snap-d").setMember(member("m0", FreePorts.loopback(), FreePorts.loopback(), dataDir.toString())).build()))
                        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                            assertThat(e.getStatus().getCode()).isIn(Status.Code.FAILED_PRECONDITION, Status.Code.RESOURCE_EXHAUSTED);
                            assertThat(e.getStatus().getDescription()).containsIgnoringCase("no space left");
                        });
                assertThat(dataDir).as("nothing half-restored where etcd would read it").doesNotExist();
                assertThat(agent.config.stagingDir().resolve("snap-d.db")).as("the snapshot is still staged").exists();
            } finally {
                agent.close();
                umount(agent.dataRoot);
            }
        }
    }

    // ---- helpers ----

    private static TransferState begin(RescueAgentGrpc.RescueAgentBlockingStub stub, String id) {
        return stub.beginTransfer(BeginTransferRequest.newBuilder().setHeader(header(OP)).setTransferId(id)
                .setSha256(snapshot.sha256()).setTotalSize(snapshot.bytes().length).build());
    }

    /** Sends the first {@code chunks} chunks and leaves the stream open, as a coordinator mid-transfer. */
    private static void sendWithoutFinishing(RescueAgentGrpc.RescueAgentStub stub, String id, int chunks) throws Exception {
        CompletableFuture<ClientCallStreamObserver<SnapshotChunk>> call = new CompletableFuture<>();
        stub.uploadSnapshot(new ClientResponseObserver<SnapshotChunk, TransferResult>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<SnapshotChunk> requestStream) {
                call.complete(requestStream);
            }

            @Override
            public void onNext(TransferResult value) { }

            @Override
            public void onError(Throwable t) { }

            @Override
            public void onCompleted() { }
        });
        ClientCallStreamObserver<SnapshotChunk> requests = call.get(5, TimeUnit.SECONDS);
        for (int i = 0; i < chunks; i++) {
            SnapshotChunk.Builder chunk = SnapshotChunk.newBuilder().setTransferId(id).setOffset((long) i * Uploads.CHUNK)
                    .setData(ByteString.copyFrom(snapshot.bytes(), i * Uploads.CHUNK, Uploads.CHUNK));
            if (i == 0) {
                chunk.setHeader(header(OP));
            }
            requests.onNext(chunk.build());
        }
    }

    private static MemberSpec member(String name, int peer, int client, String dataDir) {
        String peerUrl = "http://127.0.0.1:" + peer;
        return MemberSpec.newBuilder().setName(name).addPeerUrls(peerUrl).addClientUrls("http://127.0.0.1:" + client)
                .setDataDir(dataDir).setInitialClusterToken("faults-token")
                .addInitialCluster(Member.newBuilder().setName(name).addPeerUrls(peerUrl)).build();
    }

    /**
     * A tool dir whose etcdctl is the real one, except for {@code snapshot restore} while the file
     * {@code slow} exists: it writes a partial data dir and sleeps, so the agent can be killed mid-restore.
     */
    private static Path slowRestoreTools(Path dir) throws IOException {
        return wrapperTools(dir, """
                if [ -e "$here/slow" ]; then
                  mkdir -p "$datadir/member" && echo partial > "$datadir/member/partial"
                  sleep 120
                fi""");
    }

    /** As {@link #slowRestoreTools}, but while {@code fail} exists the restore writes a partial data dir and fails. */
    private static Path failingRestoreTools(Path dir) throws IOException {
        return wrapperTools(dir, """
                if [ -e "$here/fail" ]; then
                  mkdir -p "$datadir/member" && echo partial > "$datadir/member/partial"
                  echo "Error: write $datadir/member/snap/db: input/output error" >&2
                  exit 3
                fi""");
    }

    private static Path wrapperTools(Path dir, String onRestore) throws IOException {
        Files.createDirectories(dir);
        Path etcdctl = dir.resolve("etcdctl");
        Files.writeString(etcdctl, """
                #!/bin/sh
                here=$(dirname "$0")
                datadir=
                restore=
                for a in "$@"; do
                  case "$a" in
                    --data-dir=*) datadir="${a#--data-dir=}" ;;
                    restore) restore=1 ;;
                  esac
                done
                if [ -n "$restore" ] && [ -n "$datadir" ]; then
                %s
                fi
                exec /usr/bin/etcdctl "$@"
                """.formatted(onRestore));
        Files.setPosixFilePermissions(etcdctl, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.createSymbolicLink(dir.resolve("etcd"), LocalEtcd.ETCD);
        return dir;
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static void mount(Path dir, String size) throws Exception {
        run("mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0700", "tmpfs", dir.toString());
    }

    private static void umount(Path dir) throws Exception {
        if (!run("umount", dir.toString())) {
            run("umount", "-l", dir.toString());
        }
    }

    private static boolean run(String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            if (argv[0].equals("umount")) {
                return false;
            }
            throw new IllegalStateException(String.join(" ", argv) + " failed: " + out);
        }
        return true;
    }

    /** Every path under {@code root} except the excluded ones, with its size (files) or -1 (dirs). */
    private static Map<String, Long> treeOutside(Path root, Path... excluded) throws IOException {
        Map<String, Long> tree = new TreeMap<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (List.of(excluded).stream().anyMatch(p::startsWith)) {
                    continue;
                }
                tree.put(root.relativize(p).toString(), Files.isRegularFile(p) ? Files.size(p) : -1L);
            }
        }
        return tree;
    }
}
