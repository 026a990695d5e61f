package dev.etcdrescue.agent.backup;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;

/**
 * The snapshot etcdctl is writing, read while it grows: etcdctl writes {@code <target>.part} from start to
 * end and renames it to {@code target} once whole and fsynced, so the bytes of an open file are final as
 * soon as they are there. The end of the stream is the end of the file after {@code writer} (etcdctl's
 * run) completed; a writer that failed ends it with an error, so nothing packed from it is kept.
 */
final class GrowingSnapshot extends InputStream {
    private static final long POLL_MILLIS = 10;
    private final Path target;
    private final CompletableFuture<Void> writer;
    private FileChannel channel;

    GrowingSnapshot(Path target, CompletableFuture<Void> writer) {
        this.target = target;
        this.writer = writer;
    }

    static Path partOf(Path target) {
        return target.resolveSibling(target.getFileName() + ".part");
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        if (length == 0) {
            return 0;
        }
        while (true) {
            // Read before looking at the writer: once it has ended, what is read next is all that is left.
            boolean ended = writer.isDone();
            if (channel == null && !open()) {
                if (ended) {
                    throw failed("etcdctl ended without writing " + target);
                }
                pause();
                continue;
            }
            int n = channel.read(ByteBuffer.wrap(buffer, offset, length));
            if (n > 0) {
                return n;
            }
            if (ended) {
                if (writer.isCompletedExceptionally()) {
                    throw failed("etcdctl snapshot save failed");
                }
                return -1;
            }
            pause();
        }
    }

    private boolean open() throws IOException {
        for (Path candidate : new Path[] {partOf(target), target}) {
            try {
                channel = FileChannel.open(candidate, StandardOpenOption.READ);
                return true;
            } catch (NoSuchFileException notYet) {
                // etcdctl has not created it yet, or has renamed it already: try the other name.
            }
        }
        return false;
    }

    private IOException failed(String message) {
        try {
            writer.join();
        } catch (RuntimeException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            return new IOException(message + ": " + cause.getMessage(), cause);
        }
        return new IOException(message);
    }

    private static void pause() throws InterruptedIOException {
        try {
            Thread.sleep(POLL_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while etcdctl was writing the snapshot");
        }
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            channel.close();
        }
    }
}
