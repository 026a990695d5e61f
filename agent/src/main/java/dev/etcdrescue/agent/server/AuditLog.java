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
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;

/**
 * {@code <state_dir>/audit.log}: one JSON line per mutating RPC (who, what, which operation, the
 * outcome), fsynced before the reply leaves, so the record survives a crash of the agent or host.
 * At {@link #MAX_BYTES} it is rotated to {@code audit.log.1} (the older ones to .2 ... .{@value #KEPT}),
 * so no caller, however many calls it makes, can fill the disk beside /var/lib/etcd with it.
 */
public final class AuditLog {
    static final long MAX_BYTES = 16L << 20;
    static final int KEPT = 4;

    private final Path file;
    private final Clock clock;
    private final long maxBytes;

    public AuditLog(Path file, Clock clock) {
        this(file, clock, MAX_BYTES);
    }

    AuditLog(Path file, Clock clock, long maxBytes) {
        this.file = file;
        this.clock = clock;
        this.maxBytes = maxBytes;
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
            rotateIfFull();
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

    private void rotateIfFull() throws IOException {
        if (!Files.exists(file) || Files.size(file) < maxBytes) {
            return;
        }
        for (int i = KEPT - 1; i >= 1; i--) {
            Path older = generation(i);
            if (Files.exists(older)) {
                Files.move(older, generation(i + 1), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Files.move(file, generation(1), StandardCopyOption.REPLACE_EXISTING);
    }

    Path generation(int n) {
        return file.resolveSibling(file.getFileName() + "." + n);
    }

    public Path file() {
        return file;
    }
}
