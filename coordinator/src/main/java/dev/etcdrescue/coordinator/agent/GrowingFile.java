package dev.etcdrescue.coordinator.agent;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A file that is still being written (a snapshot streaming in from etcd), as its readers see it: how many
 * bytes can be read so far, and, once the writer has finished and checked it, its final size and digest.
 * Readers that wait for more bytes are called back on a thread of this object's own, never the writer's,
 * so the writer is not slowed by what its readers do.
 */
public final class GrowingFile implements AutoCloseable {
    private final ExecutorService notifier = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "growing-file");
        t.setDaemon(true);
        return t;
    });
    private final List<Runnable> waiting = new ArrayList<>();
    private long written;
    private long finalSize = -1;
    private String sha256;
    private String failure;

    /** The writer appended {@code bytes}; they can be read from the file now. */
    public synchronized void wrote(long bytes) {
        written += bytes;
        wake();
    }

    /** The writer finished and the file passed its checks: readers may send its last bytes (not after a failure). */
    public synchronized void complete(long size, String sha256) {
        if (failure != null) {
            return;
        }
        if (size != written) {
            throw new IllegalStateException("complete at " + size + " bytes, but " + written + " were written");
        }
        this.finalSize = size;
        this.sha256 = sha256;
        wake();
    }

    /** The file will never be complete: readers give up with {@code why}. */
    public synchronized void fail(String why) {
        if (failure == null && finalSize < 0) {
            failure = why;
            wake();
        }
    }

    synchronized long written() {
        return written;
    }

    /** The final size, or -1 while the writer has not finished. */
    synchronized long finalSize() {
        return finalSize;
    }

    synchronized Optional<String> sha256() {
        return Optional.ofNullable(sha256);
    }

    synchronized Optional<String> failure() {
        return Optional.ofNullable(failure);
    }

    /** Whether {@code length} bytes from {@code offset} can be read (or the rest of a finished file). */
    synchronized boolean readable(long offset, int length) {
        return failure != null || (finalSize >= 0 ? offset <= finalSize : offset + length <= written);
    }

    /** Calls {@code reader} back once more bytes are written, or the file is finished or failed. */
    synchronized void whenGrown(Runnable reader) {
        waiting.add(reader);
    }

    private void wake() {
        if (waiting.isEmpty()) {
            return;
        }
        List<Runnable> now = List.copyOf(waiting);
        waiting.clear();
        now.forEach(notifier::execute);
    }

    @Override
    public void close() {
        notifier.shutdown();
    }
}
