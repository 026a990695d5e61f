package dev.etcdrescue.agent.transfer;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.server.StatusMapper;
import dev.etcdrescue.agent.spec.Grammar;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One UploadSnapshot stream. Manual flow control: the next chunk is requested only after the previous
 * one is on disk, so a fast client cannot fill the agent's memory. Chunks must continue exactly at
 * the durable offset. A cancelled stream keeps its .part for a resume; the response is completed
 * exactly once.
 */
public final class UploadReceiver implements StreamObserver<SnapshotChunk> {
    private static final Logger log = LoggerFactory.getLogger(UploadReceiver.class);
    /** Bytes written between fsyncs: bounds what a crash can lose without syncing every chunk. */
    static final long SYNC_EVERY_BYTES = 64L << 20;

    private final TransferService transfers;
    private final UploadCallbacks callbacks;
    private final ServerCallStreamObserver<TransferResult> response;

    private OperationHeader header;
    private String transferId;
    private TransferAnnouncement announcement;
    private FileChannel channel;
    private RunningDigest digest;
    private long unsyncedBytes;
    private boolean done;

    private UploadReceiver(TransferService transfers, UploadCallbacks callbacks,
                           ServerCallStreamObserver<TransferResult> response) {
        this.transfers = transfers;
        this.callbacks = callbacks;
        this.response = response;
    }

    public static StreamObserver<SnapshotChunk> start(TransferService transfers, UploadCallbacks callbacks,
                                                      StreamObserver<TransferResult> responseObserver) {
        var response = (ServerCallStreamObserver<TransferResult>) responseObserver;
        UploadReceiver receiver = new UploadReceiver(transfers, callbacks, response);
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
            if (chunk.getLast()) {
                finish(chunk);
            } else {
                response.request(1);
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
            if (header != null) {
                callbacks.finished(header, null, t);
            }
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
        if (!first.hasHeader()) {
            throw AgentException.invalidArgument("the first chunk of an upload must carry the operation header");
        }
        callbacks.admit(first.getHeader());
        header = first.getHeader();
        String id = Grammar.identifier(first.getTransferId(), "transfer_id");
        if (!transfers.startReceiving(id)) {
            throw AgentException.failedPrecondition("another upload of transfer " + id + " is already open");
        }
        transferId = id;
        announcement = transfers.announcement(transferId).orElseThrow(() -> AgentException.failedPrecondition(
                "transfer " + transferId + " was not announced: call BeginTransfer first"));
        if (Files.exists(transfers.staging().stagedFile(transferId))) {
            throw AgentException.alreadyExists("transfer " + transferId + " is already complete: call BeginTransfer"
                    + " to get its result");
        }
        Path part = transfers.staging().partFile(transferId);
        channel = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        long existing = channel.size();
        digest = new RunningDigest(announcement.totalSize());
        // Resuming: the digest must cover the bytes already on disk too.
        SnapshotInspector.feed(part, existing, digest);
        channel.position(existing);
        log.info("receiving transfer {} for operation {} from offset {}", transferId, header.getOperationId(), existing);
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
        int length = chunk.getData().size();
        if (announcement.totalSize() > 0 && expected + length > announcement.totalSize()) {
            throw AgentException.invalidArgument("chunk ends at " + (expected + length)
                    + ", beyond the announced size " + announcement.totalSize());
        }
        if (length == 0) {
            return;
        }
        ByteBuffer data = chunk.getData().asReadOnlyByteBuffer();
        while (data.hasRemaining()) {
            channel.write(data);
        }
        byte[] bytes = chunk.getData().toByteArray();
        digest.update(bytes, 0, bytes.length);
        unsyncedBytes += length;
        if (unsyncedBytes >= SYNC_EVERY_BYTES) {
            channel.force(false);
            unsyncedBytes = 0;
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
        channel.force(true);
        channel.close();
        TransferResult result;
        try {
            result = transfers.complete(transferId, expectedSha, digest);
        } finally {
            transfers.stopReceiving(transferId);
        }
        done = true;
        callbacks.finished(header, result, null);
        response.onNext(result);
        response.onCompleted();
    }

    private void fail(Throwable failure) {
        closeKeepingPart();
        done = true;
        if (header != null) {
            callbacks.finished(header, null, failure);
        }
        if (!response.isCancelled()) {
            response.onError(StatusMapper.toException(failure));
        }
    }

    private void closeKeepingPart() {
        if (transferId != null) {
            transfers.stopReceiving(transferId);
        }
        if (channel != null && channel.isOpen()) {
            try {
                channel.force(true);
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
