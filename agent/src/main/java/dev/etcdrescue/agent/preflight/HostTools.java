package dev.etcdrescue.agent.preflight;

import dev.etcdrescue.agent.restore.DetectedTool;
import dev.etcdrescue.agent.restore.RestoreTools;
import java.util.List;
import java.util.Optional;

/**
 * The etcd version and restore tool of this host, detected by running the binaries and kept until
 * a binary in the tool dirs is added, removed or replaced. Each detection spawns four or five
 * processes; GetStatus and Preflight each asked for one, three per host in a recovery's preflight,
 * which made up most of its second on two cores (docs/benchmarks.md).
 */
public final class HostTools {
    private final RestoreTools tools;
    private Snapshot cached;
    private List<String> cachedFor;

    public record Snapshot(Optional<String> etcdVersion, Optional<DetectedTool> restoreTool) {}

    /** Binaries in tool_dirs passed over as unsafe to run as root, for "not found" messages. */
    public String refusedNote() {
        return tools.refusedNote();
    }

    public HostTools(RestoreTools tools) {
        this.tools = tools;
    }

    public List<java.nio.file.Path> toolDirs() {
        return tools.toolDirs();
    }

    /** Stat calls only, unless a binary changed since the last detection (an upgrade mid-incident). */
    public synchronized Snapshot get() {
        List<String> now = tools.fingerprint();
        if (cached == null || !now.equals(cachedFor)) {
            cached = new Snapshot(tools.etcdVersion(), tools.detect());
            cachedFor = now;
        }
        return cached;
    }
}
