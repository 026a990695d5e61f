package dev.etcdrescue.agent.transfer;

import com.google.protobuf.ByteString;
import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.server.StatusMapper;
import dev.etcdrescue.agent.spec.PathRules;
import dev.etcdrescue.proto.v1.DownloadSnapshotRequest;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DownloadSnapshot of a file inside backup_dirs: chunks are sent only while the transport is ready
 * (onReady), so a slow coordinator never makes the agent buffer the file; the last chunk carries the
 * whole file's SHA-256 and size.
 */
public final class DownloadSender {
    private static final Logger log = LoggerFactory.getLogger(DownloadSender.class);
    static final int DEFAULT_CHUNK = 1 << 20;
    /** Below gRPC's default 4 MiB message limit, with room for the envelope. */
    static final int MAX_CHUNK = 3 << 20;

    private final ServerCallStreamObserver<SnapshotChunk> out;
    private final DownloadSnapshotRequest request;
    private final Path file;
    private final int chunkSize;
    private final RunningDigest digest = new RunningDigest(0);
    private InputStream in;
    private long size;
    private boolean done;

    private DownloadSender(ServerCallStreamObserver<SnapshotChunk> out, DownloadSnapshotRequest request, Path file,
                           int chunkSize) {
        this.out = out;
        this.request = request;
        this.file = file;
        this.chunkSize = chunkSize;
    }

    /** Checks the request; the caller has already checked header and claim. */
    public static void start(DownloadSnapshotRequest request, PathRules backupDirs, StreamObserver<SnapshotChunk> observer) {
        if (request.getPath().isEmpty()) {
            throw AgentException.unimplemented("a snapshot of the local member is not supported by this agent:"
                    + " name a file inside backup_dirs, or take the snapshot with the coordinator");
        }
        if (backupDirs.roots().isEmpty()) {
            throw AgentException.failedPrecondition("this agent has no backup_dirs configured: it serves no files");
        }
        Path file = backupDirs.requireInside(request.getPath(), "path");
        if (!Files.isRegularFile(file)) {
            throw AgentException.failedPrecondition("path " + file + " is not a regular file on this host");
        }
        int chunk = request.getChunkSize() <= 0 ? DEFAULT_CHUNK : request.getChunkSize();
        if (chunk > MAX_CHUNK) {
            throw AgentException.invalidArgument("chunk_size must be at most " + MAX_CHUNK + ", got " + chunk);
        }
        var out = (ServerCallStreamObserver<SnapshotChunk>) observer;
        DownloadSender sender = new DownloadSender(out, request, file, chunk);
        out.setOnCancelHandler(sender::close);
        out.setOnReadyHandler(sender::sendWhileReady);
    }

    private synchronized void sendWhileReady() {
        try {
            if (in == null && !done) {
                size = Files.size(file);
                in = Files.newInputStream(file);
                log.info("sending {} to the coordinator in chunks of {} bytes", file, chunkSize);
            }
            while (!done && out.isReady()) {
                long offset = digest.position();
                byte[] data = in.readNBytes(chunkSize);
                digest.update(data, 0, data.length);
                boolean last = data.length < chunkSize || digest.position() >= size;
                SnapshotChunk.Builder chunk = SnapshotChunk.newBuilder().setTransferId("download").setOffset(offset)
                        .setData(ByteString.copyFrom(data)).setLast(last);
                if (offset == 0) {
                    chunk.setHeader(request.getHeader());
                }
                if (last) {
                    chunk.setFinalSha256(digest.hex()).setFinalSize(digest.position());
                }
                out.onNext(chunk.build());
                if (last) {
                    done = true;
                    close();
                    out.onCompleted();
                }
            }
        } catch (IOException | RuntimeException e) {
            if (!done) {
                done = true;
                close();
                out.onError(StatusMapper.toException(e instanceof IOException
                        ? AgentException.failedPrecondition("cannot read " + file + ": " + e.getMessage()) : e));
            }
        }
    }

    private synchronized void close() {
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
