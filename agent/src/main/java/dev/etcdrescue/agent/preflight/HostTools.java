package dev.etcdrescue.agent.preflight;

import dev.etcdrescue.agent.restore.DetectedTool;
import dev.etcdrescue.agent.restore.RestoreTools;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

/**
 * The etcd version and restore tool of this host, detected by running the binaries and cached
 * briefly: GetStatus may be polled, and each detection spawns a few processes.
 */
public final class HostTools {
    private static final Duration CACHE_FOR = Duration.ofSeconds(30);

    private final RestoreTools tools;
    private final Clock clock;
    private Snapshot cached;

    public record Snapshot(Optional<String> etcdVersion, Optional<DetectedTool> restoreTool, long takenAtMs) {}

    public HostTools(RestoreTools tools, Clock clock) {
        this.tools = tools;
        this.clock = clock;
    }

    public synchronized Snapshot get(boolean fresh) {
        if (fresh || cached == null || clock.millis() - cached.takenAtMs() > CACHE_FOR.toMillis()) {
            cached = new Snapshot(tools.etcdVersion(), tools.detect(), clock.millis());
        }
        return cached;
    }
}
