package dev.etcdrescue.agent.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.etcdrescue.agent.io.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;

/**
 * {@code <state_dir>/audit.log}: one JSON line per mutating RPC (who, what, which operation, the
 * outcome), fsynced before the reply leaves, so the record survives a crash of the agent or host.
 */
public final class AuditLog {
    private final Path file;
    private final Clock clock;

    public AuditLog(Path file, Clock clock) {
        this.file = file;
        this.clock = clock;
    }

    public synchronized void record(String peer, String rpc, String clusterName, String operationId, String result) {
        ObjectNode line = Json.strict().createObjectNode()
                .put("time", Instant.ofEpochMilli(clock.millis()).toString())
                .put("peer", peer)
                .put("rpc", rpc)
                .put("cluster", clusterName)
                .put("operation", operationId)
                .put("result", result);
        try {
            Files.createDirectories(file.getParent());
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND)) {
                ByteBuffer bytes = ByteBuffer.wrap((Json.strict().writeValueAsString(line) + "\n").getBytes(StandardCharsets.UTF_8));
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
                channel.force(true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to the audit log " + file, e);
        }
    }

    public Path file() {
        return file;
    }
}
