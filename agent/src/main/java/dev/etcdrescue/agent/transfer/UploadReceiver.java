package dev.etcdrescue.agent.transfer;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.failpoint.Failpoints;
import dev.etcdrescue.agent.rpc.StatusMapper;
import dev.etcdrescue.agent.spec.Grammar;
import dev.etcdrescue.proto.v1.ErrorReason;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One UploadSnapshot stream. Manual flow control: the next chunk is requested only after the previous
 * one is on disk, so a fast client cannot fill the agent's memory. Chunks must continue exactly at
 * the durable offset. A cancelled stream keeps its .part for a resume; the response is completed
 * exactly once.
 *
 * <p>Relay: when BeginTransfer announced this transfer with a grant that names next hops, every chunk
 * written here is also sent on to the next hop (RelaySnapshot), and the next chunk is asked from the
 * sender only once that hop is ready too. The response then waits for the next hop's own: when the
 * rest of the chain failed, this agent still keeps (and reports) its verified file, and answers
 * ABORTED with the failed hop named in the {@code etcd-rescue-relay-failed-hop} trailer. A stream that
 * arrived by RelaySnapshot must present the upstream agent's grant in its first message.
 */
public final class UploadReceiver implements StreamObserver<SnapshotChunk> {
    private static final Logger log = LoggerFactory.getLogger(UploadReceiver.class);
    /** Bytes written between fsyncs: bounds what a crash can lose without syncing every chunk. */
    static final long SYNC_EVERY_BYTES = 64L << 20;

    private final TransferService transfers;
    private final UploadCallbacks callbacks;
    private final ServerCallStreamObserver<TransferResult> response;
    /** For RelaySnapshot, the sending agent's certificate CN; empty for the coordinator's UploadSnapshot. */
    private final Optional<String> relayedBy;
    /** True for a RelaySnapshot stream (from a peer agent), false for UploadSnapshot (from the coordinator). */
    private final boolean relayed;
    /** The caller's deadline, which the next hop's stream inherits. */
    private final Deadline deadline;

    private OperationHeader header;
    /** The header the first chunk offered, before it was checked: what a refusal is audited with. */
    private OperationHeader offered = OperationHeader.getDefaultInstance();
    private String transferId;
    private TransferAnnouncement announcement;
    private PartWriter channel;
    private SnapshotDigest digest;
    private long unsyncedBytes;
    private boolean done;
    /** The next hop of a relay; null when this agent ends the chain or there is no relay. */
    private RelayTee tee;
    /** A request for the next chunk held back until the next hop can take more. */
    private boolean awaitingNextHop;

    private UploadReceiver(TransferService transfers, UploadCallbacks callbacks,
                           ServerCallStreamObserver<TransferResult> response, Optional<String> relayedBy) {
        this.relayedBy = relayedBy;
        this.transfers = transfers;
        this.callbacks = callbacks;
        this.response = response;
        this.relayed = relayedBy.isPresent();
        this.deadline = Context.current().getDeadline();
    }

    /** UploadSnapshot: chunks from the coordinator. */
    public static StreamObserver<SnapshotChunk> start(TransferService transfers, UploadCallbacks callbacks,
                                                      StreamObserver<TransferResult> responseObserver) {
        return start(transfers, callbacks, responseObserver, Optional.empty());
    }

    /**
     * RelaySnapshot: chunks from the previous agent of a relay chain, {@code sender} (its certificate's
     * CN), which must present its own grant.
     */
    public static StreamObserver<SnapshotChunk> startRelayed(TransferService transfers, UploadCallbacks callbacks,
                                                             StreamObserver<TransferResult> responseObserver, String sender) {
        return start(transfers, callbacks, responseObserver, Optional.of(sender));
    }

    private static StreamObserver<SnapshotChunk> start(TransferService transfers, UploadCallbacks callbacks,
                                                       StreamObserver<TransferResult> responseObserver,
                                                       Optional<String> relayedBy) {
        var response = (ServerCallStreamObserver<TransferResult>) responseObserver;
        UploadReceiver receiver = new UploadReceiver(transfers, callbacks, response, relayedBy);
        response.disableAutoRequest();
        response.setOnCancelHandler(receiver::cancelled);
        response.request(1);
        return receiver;
    }

    @Override
    public synchronized void onNext(SnapshotChunk chunk) {
        if (done) {
            return;
        }
        try {
            if (channel == null) {
                open(chunk);
            }
            write(chunk);
            if (tee != null) {
                tee.forward(chunk, transfers.chunks().data(chunk));
            }
            if (chunk.getLast()) {
                finish(chunk);
            } else if (tee == null || tee.canTakeMore()) {
                response.request(1);
            } else {
                awaitingNextHop = true;
            }
        } catch (Throwable failure) {
            fail(failure);
        }
    }

    @Override
    public synchronized void onError(Throwable t) {
        if (!done) {
            log.info("upload of {} interrupted by the client at {} bytes: {}; the partial file is kept for a resume",
                    transferId, position(), t.getMessage());
            closeKeepingPart();
            done = true;
            cancelForwarder("the upstream of this relay broke off: " + t.getMessage());
            if (header != null) {
                callbacks.finished(header, null, t);
            }
        }
    }

    /** The next hop's stream became ready (or failed): a held-back request may go out now. */
    private synchronized void nextHopReady() {
        if (tee != null) {
            tee.readyAgain();
        }
        if (awaitingNextHop && !done) {
            awaitingNextHop = false;
            response.request(1);
        }
    }

    @Override
    public synchronized void onCompleted() {
        if (!done) {
            fail(AgentException.invalidArgument("the stream ended at offset " + position()
                    + " without a chunk marked last: call BeginTransfer and resume from its durable offset"));
        }
    }

    private synchronized void cancelled() {
        onError(Status.CANCELLED.withDescription("the client cancelled the upload").asRuntimeException());
    }

    private void open(SnapshotChunk first) throws IOException {
        offered = first.getHeader();
        if (!first.hasHeader()) {
            throw AgentException.invalidArgument("the first chunk of an upload must carry the operation header");
        }
        if (relayed) {
            if (!first.hasRelay()) {
                throw AgentException.relayRefused("RelaySnapshot needs the upstream agent's relay grant in its first"
                        + " message: refused");
            }
            transfers.relays().checkUpstream(first.getRelay(), first.getHeader().getOperationId(), relayedBy.orElseThrow());
            if (!first.getRelay().getTransferId().equals(first.getTransferId())) {
                throw AgentException.relayRefused("the relay grant is for transfer " + first.getRelay().getTransferId()
                        + ", the chunks for transfer " + first.getTransferId() + ": refused");
            }
        }
        header = callbacks.admit(first.getHeader());
        String id = Grammar.identifier(first.getTransferId(), "transfer_id");
        if (!transfers.startReceiving(id)) {
            throw AgentException.failedPrecondition(ErrorReason.TRANSFER_STILL_OPEN, "another upload of transfer " + id + " is already open");
        }
        transferId = id;
        announcement = transfers.announcement(transferId).orElseThrow(() -> AgentException.failedPrecondition(ErrorReason.TRANSFER_NOT_ANNOUNCED,
                "transfer " + transferId + " was not announced: call BeginTransfer first"));
        if (Files.exists(transfers.staging().stagedFile(transferId))) {
            throw AgentException.alreadyExists("transfer " + transferId + " is already complete: call BeginTransfer"
                    + " to get its result");
        }
        Path part = transfers.staging().partFile(transferId);
        channel = PartWriter.open(part);
        long existing = Files.size(part);
        digest = new SnapshotDigest();
        // Resuming: the digest must cover the bytes already on disk too.
        SnapshotInspector.feed(part, existing, digest);
        log.info("receiving transfer {} for operation {} from offset {}{}", transferId, header.getOperationId(), existing,
                relayed ? " (relayed by a peer agent)" : "");
        tee = RelayTee.open(transfers, transferId, header, deadline, this::nextHopReady).orElse(null);
    }

    private void cancelForwarder(String why) {
        if (tee != null) {
            tee.cancel(why);
        }
    }

    private void write(SnapshotChunk chunk) throws IOException {
        if (!chunk.getTransferId().isEmpty() && !chunk.getTransferId().equals(transferId)) {
            throw AgentException.invalidArgument("chunk for transfer " + chunk.getTransferId()
                    + " in the stream of transfer " + transferId);
        }
        long expected = digest.position();
        if (chunk.getOffset() != expected) {
            throw AgentException.invalidArgument("chunk at offset " + chunk.getOffset() + ", expected " + expected
                    + ": chunks must be contiguous from the durable offset BeginTransfer returned");
        }
        List<ByteBuffer> payload = transfers.chunks().data(chunk);
        long length = 0;
        for (ByteBuffer part : payload) {
            length += part.remaining();
        }
        transfers.requireWithinCap(expected + length, "the snapshot received so far");
        if (announcement.totalSize() > 0 && expected + length > announcement.totalSize()) {
            throw AgentException.invalidArgument("chunk ends at " + (expected + length)
                    + ", beyond the announced size " + announcement.totalSize());
        }
        if (length == 0) {
            return;
        }
        // No copy of the chunk: the same bytes go to the file and the digest.
        for (ByteBuffer data : payload) {
            ByteBuffer forDigest = data.duplicate();
            channel.write(data);
            digest.update(forDigest);
        }
        channel.endOfChunk();
        long half = announcement.totalSize() / 2;
        if (expected < half && expected + length >= half) {
            transfers.failpoints().hit(Failpoints.TRANSFER_MIDWAY);
        }
        unsyncedBytes += length;
        if (unsyncedBytes >= SYNC_EVERY_BYTES) {
            channel.sync();
            unsyncedBytes = 0;
            transfers.requireSpaceWhileReceiving();
        }
        callbacks.progress(header, digest.position(), announcement.totalSize());
    }

    private void finish(SnapshotChunk last) throws IOException {
        long size = digest.position();
        if (last.getFinalSize() > 0 && last.getFinalSize() != size) {
            throw AgentException.invalidArgument("final_size " + last.getFinalSize() + " but " + size + " bytes were received");
        }
        if (announcement.totalSize() > 0 && announcement.totalSize() != size) {
            throw AgentException.invalidArgument("the last chunk ends at " + size + " but " + announcement.totalSize()
                    + " bytes were announced: resume from the durable offset");
        }
        String expectedSha = announcement.sha256().isEmpty()
                ? last.getFinalSha256().toLowerCase(Locale.ROOT) : announcement.sha256();
        Grammar.require(expectedSha, Grammar.SHA256_HEX, "final_sha256",
                "the whole file's SHA-256 (64 hex digits) when BeginTransfer announced none");
        channel.close();
        TransferResult result;
        try {
            result = transfers.complete(transferId, expectedSha, digest, !announcement.skipSnapshotStatus());
        } finally {
            transfers.stopReceiving(transferId);
        }
        done = true;
        callbacks.finished(header, result, null);
        if (tee == null) {
            response.onNext(result);
            response.onCompleted();
            return;
        }
        tee.finish().whenComplete((downstream, failure) -> answerAfterNextHop(result, failure));
    }

    /** This agent's file is in; the answer waits for the rest of the chain, and names the hop that failed. */
    private synchronized void answerAfterNextHop(TransferResult result, Throwable failure) {
        if (response.isCancelled()) {
            return;
        }
        if (failure == null) {
            response.onNext(result);
            response.onCompleted();
            return;
        }
        String hop = tee.failedHop(failure);
        log.warn("transfer {}: verified here, but the relay failed at {}: {}", transferId, hop, failure.getMessage());
        Metadata trailers = new Metadata();
        trailers.put(NextHop.FAILED_HOP, hop);
        response.onError(StatusMapper.toException(Status.ABORTED.withDescription("this agent holds the verified file "
                + result.getStagedPath() + ", but relaying it failed at " + hop + ": " + Status.fromThrowable(failure).getCode()
                + " " + Status.fromThrowable(failure).getDescription()), ErrorReason.RELAY_HOP_FAILED, trailers));
    }

    private void fail(Throwable failure) {
        closeKeepingPart();
        done = true;
        cancelForwarder("the relaying agent failed: " + failure.getMessage());
        if (header != null) {
            callbacks.finished(header, null, failure);
        } else {
            callbacks.refused(offered, failure);
        }
        if (!response.isCancelled()) {
            response.onError(StatusMapper.toException(failure));
        }
    }

    private void closeKeepingPart() {
        if (transferId != null) {
            transfers.stopReceiving(transferId);
        }
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                log.warn("closing the partial file of transfer {}: {}", transferId, e.getMessage());
            }
        }
    }

    private long position() {
        return digest == null ? 0 : digest.position();
    }
}
