package dev.etcdrescue.coordinator.agent;

import dev.etcdrescue.proto.v1.AgentStatus;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Asks agents for their status every second while a transfer runs between them, and reports the bytes
 * each has written for this operation (the coordinator's progress lines when it carries none of the
 * bytes itself), with a line of bytes and rate per host every {@link #RATE_EVERY}. A status is a few
 * hundred bytes; a failed poll is skipped (the transfer's own call reports failures).
 */
final class StatusPoller implements AutoCloseable {
    static final Duration EVERY = Duration.ofSeconds(1);
    static final Duration RATE_EVERY = Duration.ofSeconds(5);

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "status-poller");
        t.setDaemon(true);
        return t;
    });

    private final long started = System.nanoTime();
    private long lastRateLine = started;

    /**
     * @param total the bytes each is expected to write (the snapshot's size, or the source's estimate)
     * @param what what the bytes are, for the rate lines ("written", "received")
     */
    StatusPoller(List<SnapshotDistribution.Target> targets, long total, String what, SnapshotDistribution.Progress progress,
                 SnapshotDistribution.Notes notes) {
        timer.scheduleWithFixedDelay(() -> {
            long now = System.nanoTime();
            boolean rateLine = now - lastRateLine >= RATE_EVERY.toNanos();
            for (SnapshotDistribution.Target t : targets) {
                try {
                    AgentStatus status = t.agent().status();
                    long bytes = status.getBytesReceived();
                    if (status.getOperationId().equals(t.header().getOperationId()) && bytes > 0) {
                        progress.bytes(t.hostName(), bytes, total);
                        if (rateLine) {
                            double secs = (now - started) / 1e9;
                            notes.note(t.hostName(), String.format(Locale.ROOT, "%.1f MiB %s in %.0fs (%.1f MiB/s)", bytes / 1048576.0,
                                    what, secs, bytes / secs / 1048576.0));
                        }
                    }
                } catch (RuntimeException e) {
                    // Skipped: the transfer's own call says what went wrong.
                }
            }
            if (rateLine) {
                lastRateLine = now;
            }
        }, EVERY.toMillis(), EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
