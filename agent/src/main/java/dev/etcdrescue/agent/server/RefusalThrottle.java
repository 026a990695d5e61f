package dev.etcdrescue.agent.server;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * How many refused calls of one peer go to the audit log: the first {@link #PER_WINDOW} of each
 * minute; the rest are counted and the count is written with the peer's next recorded refusal. A
 * fleet certificate that is not the coordinator's (a compromised host's agent key) could otherwise
 * cost every agent an fsync per call.
 */
final class RefusalThrottle {
    static final int PER_WINDOW = 20;
    static final Duration WINDOW = Duration.ofMinutes(1);
    /** Peers remembered at most; a flood of distinct names (one CA can mint many) resets the table. */
    private static final int MAX_PEERS = 1024;

    private final Clock clock;
    private final Map<String, Window> windows = new HashMap<>();

    private static final class Window {
        long start;
        int recorded;
        long suppressed;
    }

    RefusalThrottle(Clock clock) {
        this.clock = clock;
    }

    /**
     * Empty when this refusal is not to be recorded; otherwise how many of the peer's refusals were
     * left out since its last recorded one.
     */
    synchronized OptionalLong admit(String peer) {
        long now = clock.millis();
        if (windows.size() >= MAX_PEERS && !windows.containsKey(peer)) {
            windows.clear();
        }
        Window w = windows.computeIfAbsent(peer, p -> new Window());
        if (now - w.start >= WINDOW.toMillis()) {
            w.start = now;
            w.recorded = 0;
        }
        if (w.recorded >= PER_WINDOW) {
            w.suppressed++;
            return OptionalLong.empty();
        }
        w.recorded++;
        long left = w.suppressed;
        w.suppressed = 0;
        return OptionalLong.of(left);
    }
}
