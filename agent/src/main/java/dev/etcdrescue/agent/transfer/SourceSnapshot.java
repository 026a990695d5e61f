package dev.etcdrescue.agent.transfer;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.proto.v1.ErrorReason;
import dev.etcdrescue.proto.v1.TakeSnapshotRequest;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

/**
 * TakeSnapshot: this host's member is the recovery's source, so the snapshot is taken here
 * ({@link LocalSnapshotSender#save}, the same etcdctl call as a DownloadSnapshot of the local member)
 * and staged like a received transfer, under the id its digest gives it (decision 0003). The
 * coordinator gets size, digest and etcd's snapshot status, never the bytes; SendSnapshot then sends
 * the staged file on to the other agents.
 */
public final class SourceSnapshot {
    /** How often the bytes etcdctl has written are reported while it runs. */
    private static final long PROGRESS_EVERY_MS = 500;

    private final LocalSnapshotSender local;
    private final TransferService transfers;

    public SourceSnapshot(LocalSnapshotSender local, TransferService transfers) {
        this.local = local;
        this.transfers = transfers;
    }

    /** The id a snapshot with this digest is staged under: the coordinator names transfers the same way. */
    static String transferId(SnapshotDigest digest) {
        return "sha256-" + digest.hex().substring(0, 32);
    }

    /**
     * @param progress told the bytes written so far while etcdctl runs (its file grows as etcd sends)
     */
    public TransferResult take(TakeSnapshotRequest request, String operationId, LongConsumer progress) throws IOException {
        transfers.staging().ensureDir();
        Path temp = local.newTemp();
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "snapshot-progress");
            t.setDaemon(true);
            return t;
        });
        ticker.scheduleAtFixedRate(() -> progress.accept(written(temp)), PROGRESS_EVERY_MS, PROGRESS_EVERY_MS,
                TimeUnit.MILLISECONDS);
        try {
            local.save(request.getLocal(), temp);
            ticker.shutdownNow();
            progress.accept(written(temp));
            SnapshotDigest digest = SnapshotInspector.digest(temp);
            if (digest.trailer() != SnapshotDigest.Trailer.VALID) {
                throw AgentException.failedPrecondition(ErrorReason.NOT_A_SNAPSHOT, "the snapshot etcdctl saved from "
                        + request.getLocal().getEndpoint() + " has " + (digest.trailer() == SnapshotDigest.Trailer.ABSENT
                        ? "no SHA-256 trailer" : "a SHA-256 trailer that does not match its content")
                        + ": take it again, or let the coordinator take it");
            }
            return transfers.adopt(transferId(digest), temp, digest, "local:" + request.getLocal().getEndpoint(), operationId);
        } finally {
            ticker.shutdownNow();
            LocalSnapshotSender.removeTemp(temp);
        }
    }

    private static long written(Path temp) {
        for (Path p : new Path[] {temp, LocalSnapshotSender.partOf(temp)}) {
            try {
                return Files.size(p);
            } catch (IOException absent) {
                // Not (or no longer) there: etcdctl renames the .part once it is whole.
            }
        }
        return 0;
    }
}
