package dev.etcdrescue.agent.transfer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.io.Json;
import dev.etcdrescue.agent.io.ProcessResult;
import dev.etcdrescue.agent.io.ProcessRunner;
import dev.etcdrescue.agent.preflight.HostTools;
import dev.etcdrescue.agent.restore.DetectedTool;
import dev.etcdrescue.proto.v1.ErrorReason;
import dev.etcdrescue.proto.v1.RestoreTool;
import dev.etcdrescue.proto.v1.SnapshotStatus;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Reads what etcd's own tools say about a staged file, and hashes staged files. */
public final class SnapshotInspector {
    private final HostTools tools;
    private final ProcessRunner runner;
    private final Duration timeout;

    public SnapshotInspector(HostTools tools, ProcessRunner runner, Duration timeout) {
        this.tools = tools;
        this.runner = runner;
        this.timeout = timeout;
    }

    /**
     * {@code etcdutl|etcdctl snapshot status FILE -w json}; FAILED_PRECONDITION when it is no etcd db, or
     * when the host has only an etcdctl without {@code snapshot status} (3.6+, which would print its help
     * and exit 0).
     */
    public SnapshotStatus status(Path file) {
        HostTools.Snapshot host = tools.get();
        DetectedTool detected = host.restoreTool().orElseThrow(() -> AgentException.failedPrecondition(ErrorReason.TOOL_MISSING,
                "neither etcdutl nor etcdctl was found in tool_dirs " + tools.toolDirs() + tools.refusedNote()));
        // etcdctl lost snapshot status in the same release as snapshot restore, so the restore probe tells both.
        if (!detected.restores()) {
            throw AgentException.failedPrecondition(ErrorReason.TOOL_UNSUPPORTED,
                    detected.cannotRestore(host.etcdVersion().orElse(detected.version()),
                    tools.toolDirs()));
        }
        Path tool = detected.path();
        Map<String, String> env = detected.kind() == RestoreTool.ETCDCTL ? Map.of("ETCDCTL_API", "3") : Map.of();
        ProcessResult result = runner.run(List.of(tool.toString(), "snapshot", "status", file.toString(),
                "-w", "json"), env, timeout);
        if (!result.succeeded()) {
            throw AgentException.failedPrecondition(ErrorReason.NOT_A_SNAPSHOT, "the received file is not a readable etcd snapshot: "
                    + result.failureSummary());
        }
        try {
            JsonNode node = Json.strict().readTree(firstJsonLine(result.stdout()));
            return SnapshotStatus.newBuilder()
                    .setHash(String.format("%08x", node.path("hash").asLong()))
                    .setRevision(node.path("revision").asLong())
                    .setTotalKeys(node.path("totalKey").asLong())
                    .setTotalSize(node.path("totalSize").asLong())
                    .setVersion(node.path("version").asText(""))
                    .build();
        } catch (IOException e) {
            // Not etcd's JSON: a tool that answers with something else (its help, say) cannot vouch for the file.
            throw AgentException.failedPrecondition(ErrorReason.TOOL_UNSUPPORTED, tool + " snapshot status printed no status JSON: "
                    + result.stdout().strip() + " (install etcdutl of the etcd version into tool_dirs)");
        }
    }

    /** SHA-256 of a whole file, with etcd's trailer verdict on it. */
    public static SnapshotDigest digest(Path file) throws IOException {
        SnapshotDigest digest = new SnapshotDigest();
        feed(file, Files.size(file), digest);
        return digest;
    }

    /** Feeds the first {@code length} bytes of {@code file} into {@code digest}. */
    public static void feed(Path file, long length, SnapshotDigest digest) throws IOException {
        byte[] buffer = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            long left = length;
            while (left > 0) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                if (n < 0) {
                    throw new IOException(file + " is shorter than " + length + " bytes");
                }
                digest.update(buffer, 0, n);
                left -= n;
            }
        }
    }

    private static String firstJsonLine(String stdout) {
        return Arrays.stream(stdout.split("\n")).map(String::strip).filter(l -> l.startsWith("{"))
                .findFirst().orElse(stdout);
    }
}
