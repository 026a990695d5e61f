package dev.etcdrescue.agent.transfer;

import com.google.protobuf.ByteString;
import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.rpc.StatusMapper;
import dev.etcdrescue.proto.v1.DownloadSnapshotRequest;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams one file as SnapshotChunk messages, only while the transport is ready (onReady), so a slow
 * coordinator never makes the agent buffer the file; the last chunk carries the whole file's SHA-256
 * and size. The file may be named later than the call starts (a snapshot still being taken): the
 * handlers are attached at once, as gRPC requires, and sending begins with {@link #send(Path)}.
 */
final class ChunkedFileSender {
    private static final Logger log = LoggerFactory.getLogger(ChunkedFileSender.class);
    static final int DEFAULT_CHUNK = 1 << 20;
    /** Below gRPC's default 4 MiB message limit, with room for the envelope. */
    static final int MAX_CHUNK = 3 << 20;

    private final ServerCallStreamObserver<SnapshotChunk> out;
    private final OperationHeader header;
    private final int chunkSize;
    /** Called exactly once: with null when the last chunk went out, else with the failure or cancellation. */
    private final Consumer<Throwable> finished;
    private final SnapshotDigest digest = new SnapshotDigest();
    private Path file;
    private InputStream in;
    private long size;
    private boolean done;

    private ChunkedFileSender(ServerCallStreamObserver<SnapshotChunk> out, OperationHeader header, int chunkSize,
                              Consumer<Throwable> finished) {
        this.out = out;
        this.header = header;
        this.chunkSize = chunkSize;
        this.finished = finished;
    }

    /** The request's chunk size, or the default; INVALID_ARGUMENT above the limit. */
    static int chunkSize(DownloadSnapshotRequest request) {
        int chunk = request.getChunkSize() <= 0 ? DEFAULT_CHUNK : request.getChunkSize();
        if (chunk > MAX_CHUNK) {
            throw AgentException.invalidField("chunk_size", "chunk_size must be at most " + MAX_CHUNK + ", got " + chunk);
        }
        return chunk;
    }

    /** Must be called while the service method runs: gRPC freezes the handlers when it returns. */
    static ChunkedFileSender attach(StreamObserver<SnapshotChunk> observer, OperationHeader header, int chunkSize,
                                    Consumer<Throwable> finished) {
        var out = (ServerCallStreamObserver<SnapshotChunk>) observer;
        ChunkedFileSender sender = new ChunkedFileSender(out, header, chunkSize, finished);
        out.setOnCancelHandler(sender::cancelled);
        out.setOnReadyHandler(sender::sendWhileReady);
        return sender;
    }

    /**
     * Starts sending {@code file}.
     *
     * @return false when the call already ended (cancelled or failed): nothing will read the file
     */
    synchronized boolean send(Path file) {
        SeekableByteChannel channel;
        try {
            channel = Files.newByteChannel(file);
        } catch (IOException e) {
            fail(AgentException.failedPrecondition("cannot read " + file + ": " + e.getMessage()));
            return false;
        }
        return send(file, channel);
    }

    /** Starts sending what {@code channel} reads (opened by the caller), naming it {@code file}; closes it. */
    synchronized boolean send(Path file, SeekableByteChannel channel) {
        this.file = file;
        this.in = Channels.newInputStream(channel);
        if (done) {
            close();
            return false;
        }
        try {
            this.size = channel.size();
        } catch (IOException e) {
            fail(AgentException.failedPrecondition("cannot read " + file + ": " + e.getMessage()));
            return false;
        }
        log.info("sending {} ({} bytes) to the coordinator in chunks of {} bytes", file, size, chunkSize);
        sendWhileReady();
        return true;
    }

    /** Ends the call with {@code failure} (mapped to its status) unless it already ended. */
    synchronized void fail(Throwable failure) {
        if (done) {
            return;
        }
        close();
        out.onError(StatusMapper.toException(failure));
        finished.accept(failure);
    }

    private synchronized void sendWhileReady() {
        if (in == null || done) {
            return;
        }
        try {
            while (!done && out.isReady()) {
                long offset = digest.position();
                byte[] data = in.readNBytes(chunkSize);
                digest.update(data, 0, data.length);
                boolean last = data.length < chunkSize || digest.position() >= size;
                SnapshotChunk.Builder chunk = SnapshotChunk.newBuilder().setTransferId("download").setOffset(offset)
                        .setData(ByteString.copyFrom(data)).setLast(last);
                if (offset == 0) {
                    chunk.setHeader(header);
                }
                if (last) {
                    chunk.setFinalSha256(digest.hex()).setFinalSize(digest.position());
                }
                out.onNext(chunk.build());
                if (last) {
                    close();
                    out.onCompleted();
                    finished.accept(null);
                }
            }
        } catch (IOException e) {
            fail(AgentException.failedPrecondition("cannot read " + file + ": " + e.getMessage()));
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    private synchronized void cancelled() {
        if (!done) {
            close();
            finished.accept(Status.CANCELLED.withDescription("the coordinator cancelled the download").asRuntimeException());
        }
    }

    private void close() {
        done = true;
        if (in != null) {
            try {
                in.close();
            } catch (IOException e) {
                log.debug("closing {}: {}", file, e.getMessage());
            }
        }
    }
}
