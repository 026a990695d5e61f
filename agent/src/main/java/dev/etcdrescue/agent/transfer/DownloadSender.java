package dev.etcdrescue.agent.transfer;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.spec.PathRules;
import dev.etcdrescue.proto.v1.DownloadSnapshotRequest;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import io.grpc.stub.StreamObserver;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;

/**
 * DownloadSnapshot of a file inside backup_dirs, streamed by {@link ChunkedFileSender}. A snapshot of
 * the local member (path empty) is {@link LocalSnapshotSender}'s.
 */
public final class DownloadSender {
    private DownloadSender() {}

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
        Path root = backupDirs.roots().stream().filter(r -> file.startsWith(r)).findFirst().orElseThrow();
        int chunk = ChunkedFileSender.chunkSize(request);
        SeekableByteChannel opened = BackupFile.open(root, file);
        ChunkedFileSender.attach(observer, request.getHeader(), chunk, failure -> { }).send(file, opened);
    }
}
