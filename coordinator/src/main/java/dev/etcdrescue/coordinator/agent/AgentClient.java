package dev.etcdrescue.coordinator.agent;

import com.google.protobuf.ByteString;
import dev.etcdrescue.proto.v1.*;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

/**
 * One host's agent, seen from the coordinator. Every call carries a deadline: {@code rpcTimeout}
 * for short calls, and a budget derived from the work for transfers and restores.
 */
public final class AgentClient implements AutoCloseable {
    private final AgentEndpoint endpoint;
    private final ManagedChannel channel;
    private final Duration rpcTimeout;

    AgentClient(AgentEndpoint endpoint, ManagedChannel channel, Duration rpcTimeout) {
        this.endpoint = endpoint;
        this.channel = channel;
        this.rpcTimeout = rpcTimeout;
    }

    public AgentEndpoint endpoint() {
        return endpoint;
    }

    private RescueAgentGrpc.RescueAgentBlockingStub stub(Duration timeout) {
        return RescueAgentGrpc.newBlockingStub(channel).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    public AgentStatus status() {
        return stub(rpcTimeout).getStatus(GetStatusRequest.getDefaultInstance());
    }

    public ClaimReply claim(OperationHeader header, Duration ttl) {
        return stub(rpcTimeout).claim(ClaimRequest.newBuilder().setHeader(header).setTtlMs(ttl.toMillis()).build());
    }

    public ClaimReply renewClaim(OperationHeader header, Duration ttl) {
        return stub(rpcTimeout).renewClaim(ClaimRequest.newBuilder().setHeader(header).setTtlMs(ttl.toMillis()).build());
    }

    public ClaimReply releaseClaim(OperationHeader header) {
        return releaseClaim(header, rpcTimeout);
    }

    public ClaimReply releaseClaim(OperationHeader header, Duration timeout) {
        return stub(timeout).releaseClaim(ReleaseClaimRequest.newBuilder().setHeader(header).build());
    }

    public PreflightReport preflight(PreflightRequest request) {
        return stub(rpcTimeout).preflight(request);
    }

    public TransferState beginTransfer(BeginTransferRequest request) {
        return stub(rpcTimeout).beginTransfer(request);
    }

    /** A restore rewrites the whole keyspace on disk: its budget grows with the snapshot. */
    public RestoreResult restore(RestoreRequest request, Duration timeout) {
        return stub(timeout).restoreMember(request);
    }

    public ConfigureResult configure(ConfigureRequest request) {
        return stub(rpcTimeout).configureMember(request);
    }

    public UnitState start(UnitRequest request) {
        return stub(rpcTimeout).startMember(request);
    }

    public UnitState stop(UnitRequest request) {
        return stub(rpcTimeout).stopMember(request);
    }

    public UnitState inspectUnit(String unit) {
        return stub(rpcTimeout).inspectUnit(InspectUnitRequest.newBuilder().setUnit(unit).build());
    }

    public CutOverResult cutOver(CutOverRequest request) {
        return stub(rpcTimeout).cutOver(request);
    }

    public CleanupReply cleanup(CleanupRequest request) {
        return stub(Duration.ofMinutes(5)).cleanup(request);
    }

    public RollbackResult rollback(RollbackRequest request) {
        return stub(Duration.ofMinutes(5)).rollback(request);
    }

    /**
     * Streams {@code file} from {@code fromOffset} in chunks, sending only as fast as the agent asks
     * (gRPC flow control via {@code isReady}), so neither side buffers the file.
     */
    public TransferResult upload(OperationHeader header, String transferId, Path file, long fromOffset,
                                 int chunkSize, LongConsumer progress, Duration timeout) throws InterruptedException {
        CompletableFuture<TransferResult> done = new CompletableFuture<>();
        FileChannel in;
        long size;
        try {
            in = FileChannel.open(file, StandardOpenOption.READ);
            size = in.size();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (in) {
            ChunkPump pump = new ChunkPump(header, transferId, in, size, fromOffset, chunkSize, progress, done);
            RescueAgentGrpc.newStub(channel).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS).uploadSnapshot(pump);
            return done.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Reads the next chunk whenever the transport is ready; the first chunk carries the header. */
    private static final class ChunkPump implements ClientResponseObserver<SnapshotChunk, TransferResult> {
        private final OperationHeader header;
        private final String transferId;
        private final FileChannel in;
        private final long size;
        private final int chunkSize;
        private final LongConsumer progress;
        private final CompletableFuture<TransferResult> done;
        private ClientCallStreamObserver<SnapshotChunk> requests;
        private long offset;
        private boolean first = true;
        private boolean finished;
        private TransferResult result;

        ChunkPump(OperationHeader header, String transferId, FileChannel in, long size, long offset, int chunkSize,
                  LongConsumer progress, CompletableFuture<TransferResult> done) {
            this.header = header;
            this.transferId = transferId;
            this.in = in;
            this.size = size;
            this.offset = offset;
            this.chunkSize = chunkSize;
            this.progress = progress;
            this.done = done;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<SnapshotChunk> requestStream) {
            this.requests = requestStream;
            requestStream.setOnReadyHandler(this::pump);
        }

        private synchronized void pump() {
            try {
                while (!finished && requests.isReady()) {
                    int n = (int) Math.min(chunkSize, size - offset);
                    ByteBuffer buf = ByteBuffer.allocate(n);
                    while (buf.hasRemaining()) {
                        if (in.read(buf, offset + buf.position()) < 0) {
                            throw new IOException("snapshot file shrank while being sent");
                        }
                    }
                    buf.flip();
                    boolean last = offset + n == size;
                    SnapshotChunk.Builder chunk = SnapshotChunk.newBuilder()
                            .setTransferId(transferId).setOffset(offset).setData(ByteString.copyFrom(buf)).setLast(last);
                    if (first) {
                        chunk.setHeader(header);
                        first = false;
                    }
                    if (last) {
                        chunk.setFinalSize(size);
                    }
                    requests.onNext(chunk.build());
                    offset += n;
                    progress.accept(offset);
                    if (last) {
                        finished = true;
                        requests.onCompleted();
                    }
                }
            } catch (IOException e) {
                finished = true;
                requests.cancel("coordinator could not read the snapshot file", e);
                done.completeExceptionally(new UncheckedIOException(e));
            }
        }

        @Override
        public void onNext(TransferResult value) {
            result = value;
        }

        @Override
        public void onError(Throwable t) {
            done.completeExceptionally(t);
        }

        @Override
        public void onCompleted() {
            done.complete(result);
        }
    }
}
