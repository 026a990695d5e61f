package dev.etcdrescue.coordinator.snapshot;

import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.files.PrivateFiles;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.function.LongConsumer;

/** A snapshot streamed here by an agent: received into a private {@code .part}, checked, fsynced, then named. */
public final class ReceivedSnapshot {
    private ReceivedSnapshot() {}

    /**
     * Writes the chunks of a download from {@code agent} into {@code part} (created new, private), checking each
     * offset and, at the last chunk, the size and SHA-256 the agent sent; fsynced before it returns.
     */
    public static SnapshotFile receive(String agent, Iterator<SnapshotChunk> chunks, Path part, LongConsumer progress) throws IOException {
        try (FileChannel channel = PrivateFiles.replaceWithNew(part)) {
            SnapshotFile.Checked out = SnapshotFile.checking(Channels.newOutputStream(channel));
            Received r = receive(agent, chunks, out, progress);
            out.flush();
            SnapshotFile file = out.result(part);
            SnapshotChunk last = r.last();
            if (last == null) {
                throw new UserException(FailureKind.PHASE_FAILED, "the agent " + agent + " ended the download without its last chunk"
                        + " after " + r.bytes() + " bytes; the partial file is " + part);
            }
            if (last.getFinalSize() != file.size() || !last.getFinalSha256().equals(file.sha256())) {
                throw new UserException(FailureKind.PHASE_FAILED, "the download from " + agent + " does not match what the agent sent: "
                        + file.size() + " bytes, SHA-256 " + file.sha256() + " here, " + last.getFinalSize() + " bytes, SHA-256 "
                        + last.getFinalSha256() + " there; the partial file is " + part);
            }
            // Durable before the rename: FILE only ever names a complete snapshot.
            channel.force(true);
            return file;
        }
    }

    private record Received(SnapshotChunk last, long bytes) {}

    private static Received receive(String agent, Iterator<SnapshotChunk> chunks, OutputStream out, LongConsumer progress)
            throws IOException {
        long received = 0;
        while (chunks.hasNext()) {
            SnapshotChunk chunk = chunks.next();
            if (chunk.getOffset() != received) {
                throw new UserException(FailureKind.PHASE_FAILED, "the agent " + agent + " sent a chunk at offset " + chunk.getOffset()
                        + ", expected " + received);
            }
            chunk.getData().writeTo(out);
            received += chunk.getData().size();
            progress.accept(received);
            if (chunk.getLast()) {
                return new Received(chunk, received);
            }
        }
        return new Received(null, received);
    }

    /**
     * A hard link gives the file its name atomically and fails if the name is taken (a rename would
     * replace it); then the .part name goes and the directory entry is made durable.
     */
    public static void publish(Path part, Path target) throws IOException {
        try {
            Files.createLink(target, part);
        } catch (FileAlreadyExistsException e) {
            throw new UserException(FailureKind.BAD_INPUT, "refusing to overwrite " + target + ": it appeared while the snapshot"
                    + " was taken; the snapshot is kept as " + part);
        }
        Files.delete(part);
        Path dir = target.toAbsolutePath().getParent();
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }
}
