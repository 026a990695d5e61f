package dev.etcdrescue.coordinator.agent;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import dev.etcdrescue.proto.v1.*;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One host's agent, seen from the coordinator. Every call carries a deadline: {@code rpcTimeout}
 * for short calls, and a budget derived from the work for transfers and restores.
 */
public final class AgentClient implements AutoCloseable {
    /** The trailer in which a relaying agent names the hop (host:port) where its chain failed. */
    static final Metadata.Key<String> RELAY_FAILED_HOP =
            Metadata.Key.of("etcd-rescue-relay-failed-hop", Metadata.ASCII_STRING_MARSHALLER);
    private static final Logger log = LoggerFactory.getLogger(AgentClient.class);
    private final AgentEndpoint endpoint;
    private final ManagedChannel channel;
    private final Duration rpcTimeout;
    /** The coordinator's TLS, for the agent's data channel; null: uploads go over gRPC only. */
    private final SslContext dataTls;
    /** What the coordinator's channels carried; the data channel's payload is added here as it is sent. */
    private final WireBytes wire;
    /** The data channel's port the agent named in its last TransferState; 0 for none (decision 0023). */
    private volatile int dataPort;

    AgentClient(AgentEndpoint endpoint, ManagedChannel channel, Duration rpcTimeout, SslContext dataTls, WireBytes wire) {
        this.wire = wire;
        this.endpoint = endpoint;
        this.channel = channel;
        this.rpcTimeout = rpcTimeout;
        this.dataTls = dataTls;
    }

    /** This agent's uploads over UploadSnapshot even when it offers a data channel (benchmarks compare the two). */
    public AgentClient withoutDataChannel() {
        return new AgentClient(endpoint, channel, rpcTimeout, null, wire);
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

    /**
     * DownloadSnapshot: the chunks as they come, within {@code timeout}. The call runs in the caller's
     * {@link io.grpc.Context}; cancelling that context ends the agent's sending.
     */
    public Iterator<SnapshotChunk> downloadSnapshot(DownloadSnapshotRequest request, Duration timeout) {
        return stub(timeout).downloadSnapshot(request);
    }

    /** TakeSnapshot: etcdctl on the agent's host takes as long as the database needs, within {@code timeout}. */
    public TransferResult takeSnapshot(TakeSnapshotRequest request, Duration timeout) {
        return stub(timeout).takeSnapshot(request);
    }

    /** SendSnapshot: answers once every hop has answered, within {@code timeout}. */
    public SendSnapshotResult sendSnapshot(SendSnapshotRequest request, Duration timeout) {
        return stub(timeout).sendSnapshot(request);
    }

    /**
     * Announces a transfer; the answer also names the agent's data channel, which later uploads use when
     * this client dialled the agent's own gRPC port.
     */
    public TransferState beginTransfer(BeginTransferRequest request) {
        TransferState state = stub(rpcTimeout).beginTransfer(request);
        // Through a forward or a proxy (another port than the agent's own) the data port's way is unknown.
        dataPort = state.getGrpcPort() == endpoint.port() ? state.getDataPort() : 0;
        return state;
    }

    /** The agent's data channel port from its last BeginTransfer, when reachable the way this client dials; else 0. */
    public int dataPort() {
        return dataPort;
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

    /**
     * StartMember: the agent answers once the unit's start job has ended, or when
     * {@code timeout} passes. Cancelling the future ends the agent's wait; the job stays with systemd.
     */
    public ListenableFuture<UnitState> startAndWait(UnitRequest request, Duration timeout) {
        return RescueAgentGrpc.newFutureStub(channel).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .startMember(request);
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

    /** ListBackups: this host's backups; reading every file back ({@code readBack}) takes as long as the dir is large. */
    public BackupList listBackups(boolean readBack, Duration timeout) {
        return BackupAgentGrpc.newBlockingStub(channel).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .listBackups(ListBackupsRequest.newBuilder().setReadBack(readBack).setObjectStore(true).build());
    }

    /** ListBackups reading every file back and the snapshot inside it (trailer, bbolt, HashKV); {@code id} empty: all. */
    public BackupList verifyBackups(String id, Duration timeout) {
        return BackupAgentGrpc.newBlockingStub(channel).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .listBackups(ListBackupsRequest.newBuilder().setReadBack(true).setDeep(true).setId(id).setObjectStore(true).build());
    }

    /** PruneBackups: retention applied now on that host, or (dry run) what it would remove. */
    public dev.etcdrescue.proto.v1.PruneResult pruneBackups(boolean dryRun, Duration timeout) {
        return BackupAgentGrpc.newBlockingStub(channel).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .pruneBackups(dev.etcdrescue.proto.v1.PruneBackupsRequest.newBuilder().setDryRun(dryRun).build());
    }

    /** TakeBackup: a backup now, checked, signed and stored on that host. */
    public BackupEntry takeBackup(Duration timeout) {
        return BackupAgentGrpc.newBlockingStub(channel).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .takeBackup(TakeBackupRequest.getDefaultInstance());
    }

    /** DrillBackup: restores a backup into a throwaway etcd on that host and compares it with its manifest. */
    public DrillResult drillBackup(String id, Duration timeout) {
        return BackupAgentGrpc.newBlockingStub(channel).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .drillBackup(DrillBackupRequest.newBuilder().setId(id).build());
    }

    /**
     * FetchBackup: the snapshot inside a backup on that host, as it comes. Runs in the caller's {@link io.grpc.Context};
     * cancelling it ends the agent's sending.
     */
    public Iterator<SnapshotChunk> fetchBackup(String id, Duration timeout) {
        return BackupAgentGrpc.newBlockingStub(channel).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .fetchBackup(FetchBackupRequest.newBuilder().setId(id).build());
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
        try (ChunkSource source = new ChunkSource(file, chunkSize, 1)) {
            return upload(header, transferId, source, fromOffset, progress, timeout);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The same from a {@link ChunkSource} that other streams may share (read once, sent to all), over the
     * agent's data channel when its last TransferState named one and it can be reached (decision 0023),
     * else over UploadSnapshot. When
     * this agent heads a relay chain (its BeginTransfer carried a grant), the answer comes once the
     * whole chain has the file; a failure further down is ABORTED naming the hop, see {@link #relayFailedHop}.
     */
    public TransferResult upload(OperationHeader header, String transferId, ChunkSource source, long fromOffset,
                                 LongConsumer progress, Duration timeout) throws InterruptedException {
        int port = dataPort;
        if (dataTls != null && port > 0) {
            try {
                long[] counted = {fromOffset};
                LongConsumer counting = offset -> {
                    wire.addSent(offset - counted[0]);
                    counted[0] = offset;
                    progress.accept(offset);
                };
                return DataChannelUpload.send(dataTls, endpoint, port, header, transferId, source, fromOffset, counting, timeout);
            } catch (DataChannelUpload.Unavailable e) {
                // A firewall that lets only the gRPC port through, say: the same upload over gRPC, at more CPU per byte.
                log.info("{}: {}; uploading over gRPC instead", endpoint.hostName(), e.getMessage());
            }
        }
        CompletableFuture<TransferResult> done = new CompletableFuture<>();
        ChunkPump pump = new ChunkPump(header, transferId, source, fromOffset, progress, done);
        RescueAgentGrpc.newStub(channel).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS).uploadSnapshot(pump);
        try {
            return done.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    /** The relay hop an agent named as failed in the error's trailers, if it is a relay failure. */
    public static Optional<String> relayFailedHop(Throwable failure) {
        Metadata trailers = Status.trailersFromThrowable(failure);
        return Optional.ofNullable(trailers == null ? null : trailers.get(RELAY_FAILED_HOP));
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

    /**
     * Takes the next chunk whenever the transport is ready; the first chunk carries the header. gRPC
     * stops being ready as soon as one chunk waits to go out, so up to {@link #CHUNKS_AHEAD} are queued
     * beyond that: the stream stays busy across thread hand-offs on a loaded machine, and what one stream
     * holds in memory stays bounded. While the next chunk of a growing file is not written yet, the pump
     * waits for it with one callback only: gRPC's readiness calls it too, and a callback registered on
     * each of those would multiply (every one re-registers), each write of etcd's then waking them all.
     */
    private static final class ChunkPump implements ClientResponseObserver<SnapshotChunk, TransferResult> {
        private static final int CHUNKS_AHEAD = 4;
        private final OperationHeader header;
        private final String transferId;
        private final ChunkSource source;
        private final LongConsumer progress;
        private final CompletableFuture<TransferResult> done;
        private ClientCallStreamObserver<SnapshotChunk> requests;
        private long offset;
        private boolean first = true;
        private boolean finished;
        private int ahead;
        private boolean waitingForSource;
        private TransferResult result;

        ChunkPump(OperationHeader header, String transferId, ChunkSource source, long offset, LongConsumer progress,
                  CompletableFuture<TransferResult> done) {
            this.header = header;
            this.transferId = transferId;
            this.source = source;
            this.offset = offset;
            this.progress = progress;
            this.done = done;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<SnapshotChunk> requestStream) {
            this.requests = requestStream;
            requestStream.setOnReadyHandler(this::pump);
        }

        private synchronized void sourceGrew() {
            waitingForSource = false;
            pump();
        }

        private synchronized void pump() {
            if (waitingForSource) {
                return;
            }
            try {
                while (!finished) {
                    if (requests.isReady()) {
                        ahead = 0;
                    } else if (ahead >= CHUNKS_AHEAD) {
                        break;
                    }
                    if (source.failure().isPresent()) {
                        finished = true;
                        String why = source.failure().get();
                        requests.cancel(why, null);
                        done.completeExceptionally(Status.CANCELLED.withDescription(why).asRuntimeException());
                        return;
                    }
                    if (!source.ready(offset)) {
                        // A snapshot still streaming in: come back when this chunk is written.
                        waitingForSource = true;
                        source.whenReady(offset, this::sourceGrew);
                        break;
                    }
                    ahead++;
                    ByteString data = source.chunk(offset);
                    int n = data.size();
                    long size = source.size();
                    boolean last = size >= 0 && offset + n == size;
                    SnapshotChunk.Builder chunk = SnapshotChunk.newBuilder()
                            .setTransferId(transferId).setOffset(offset).setData(data).setLast(last);
                    if (first) {
                        chunk.setHeader(header);
                        first = false;
                    }
                    if (last) {
                        chunk.setFinalSize(size);
                        // A live transfer was announced without a digest: the agent checks the file against this one.
                        source.finalSha256().ifPresent(chunk::setFinalSha256);
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
