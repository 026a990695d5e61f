package dev.etcdrescue.coordinator.agent;

import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.proto.v1.TransferState;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Streams a snapshot to every agent while it is still being taken (docs/decisions/0012): one UploadSnapshot
 * per agent, as a direct distribution, fed from the growing file as etcd's bytes arrive. The transfer is
 * announced without size and digest (a live transfer, which an agent never resumes from an offset); its
 * last chunk goes out only once the coordinator has checked the whole file ({@link GrowingFile#complete}),
 * and carries the size and SHA-256 each agent must find before it keeps the file. A file that fails its
 * checks ({@link GrowingFile#fail}) ends every stream without that chunk, so no agent keeps it.
 */
public final class LiveDistribution implements AutoCloseable {
    private final ChunkSource source;
    private final GrowingFile growing;
    private final String transferId;
    private final String origin;
    private final Duration budget;
    private final long expectedSize;
    private final ExecutorService uploads;

    /**
     * @param file the file the snapshot is being written to
     * @param budget how long one upload may take (its deadline)
     * @param expectedSize what the progress lines count towards until the final size is known (the member's db size)
     */
    public LiveDistribution(Path file, GrowingFile growing, String transferId, String origin, int chunkSize, Duration budget,
                            int hosts, long expectedSize) throws IOException {
        this.source = new ChunkSource(file, chunkSize, Math.max(1, hosts), growing);
        this.growing = growing;
        this.transferId = transferId;
        this.origin = origin;
        this.budget = budget;
        this.expectedSize = expectedSize;
        this.uploads = Executors.newFixedThreadPool(Math.max(1, hosts), r -> {
            Thread t = new Thread(r, "live-upload");
            t.setDaemon(true);
            return t;
        });
    }

    /** Announces the live transfer to every target and starts its upload; each future holds that host's result. */
    public Map<String, CompletableFuture<TransferResult>> start(List<SnapshotDistribution.Target> targets,
                                                                SnapshotDistribution.Progress progress) {
        Map<String, CompletableFuture<TransferResult>> started = new LinkedHashMap<>();
        for (SnapshotDistribution.Target t : targets) {
            started.put(t.hostName(), CompletableFuture.supplyAsync(() -> {
                TransferState state = t.agent().beginTransfer(BeginTransferRequest.newBuilder().setHeader(t.header())
                        .setTransferId(transferId).setSource(origin).setSkipSnapshotStatus(t.skipStatus()).build());
                try {
                    return t.agent().upload(t.header(), transferId, source, state.getDurableOffset(),
                            sent -> progress.bytes(t.hostName(), sent, source.size() >= 0 ? source.size() : expectedSize), budget);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while streaming the snapshot to " + t.hostName(), e);
                }
            }, uploads));
        }
        return started;
    }

    public String transferId() {
        return transferId;
    }

    /** Bytes of snapshot data the coordinator has written to agent streams so far. */
    public long egressBytes() {
        return source.bytesSent();
    }

    @Override
    public void close() {
        uploads.shutdownNow();
        growing.close();
        try {
            source.close();
        } catch (IOException ignored) {
            // A read-only channel: nothing is lost when its close fails.
        }
    }
}
