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
 * so the writer is not slowed by what its readers do; and only once the bytes they wait for are written,
 * not on every write (etcd sends its snapshot in 32 KiB messages, readers take 1 MiB chunks).
 */
public final class GrowingFile implements AutoCloseable {
    private final ExecutorService notifier = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "growing-file");
        t.setDaemon(true);
        return t;
    });
    private record Waiting(long until, Runnable reader) {}

    private final List<Waiting> waiting = new ArrayList<>();
    private long callbacks;
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

    /**
     * Calls {@code reader} back once {@code until} bytes are written, or the file is finished or failed
     * (at once if that is so already). Each registration is called back once.
     */
    synchronized void whenGrown(long until, Runnable reader) {
        waiting.add(new Waiting(until, reader));
        wake();
    }

    /** Readers registered and not yet called back. */
    synchronized int waitingReaders() {
        return waiting.size();
    }

    /** Readers called back so far. */
    synchronized long callbacks() {
        return callbacks;
    }

    private void wake() {
        if (notifier.isShutdown()) {
            // Closed: the distribution is over and its streams are cancelled; nobody is left to call.
            return;
        }
        boolean ended = failure != null || finalSize >= 0;
        for (var it = waiting.iterator(); it.hasNext(); ) {
            Waiting w = it.next();
            if (ended || written >= w.until()) {
                it.remove();
                callbacks++;
                notifier.execute(w.reader());
            }
        }
    }

    @Override
    public void close() {
        notifier.shutdown();
    }
}
