package dev.etcdrescue.coordinator.agent;

import dev.etcdrescue.proto.v1.AgentStatus;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Asks agents for their status every second while a transfer runs between them, and reports the bytes
 * each has written for this operation: the coordinator's progress lines when it carries none of the
 * bytes itself. A status is a few hundred bytes; a failed poll is skipped (the transfer's own call
 * reports failures).
 */
final class StatusPoller implements AutoCloseable {
    static final Duration EVERY = Duration.ofSeconds(1);

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "status-poller");
        t.setDaemon(true);
        return t;
    });

    /** @param total the bytes each is expected to write (the snapshot's size, or the source's estimate) */
    StatusPoller(List<SnapshotDistribution.Target> targets, long total, SnapshotDistribution.Progress progress) {
        timer.scheduleWithFixedDelay(() -> {
            for (SnapshotDistribution.Target t : targets) {
                try {
                    AgentStatus status = t.agent().status();
                    if (status.getOperationId().equals(t.header().getOperationId()) && status.getBytesReceived() > 0) {
                        progress.bytes(t.hostName(), status.getBytesReceived(), total);
                    }
                } catch (RuntimeException e) {
                    // Skipped: the transfer's own call says what went wrong.
                }
            }
        }, EVERY.toMillis(), EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
