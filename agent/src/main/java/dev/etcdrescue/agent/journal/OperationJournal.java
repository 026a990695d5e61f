package dev.etcdrescue.agent.journal;

import dev.etcdrescue.agent.io.Json;
import dev.etcdrescue.agent.spec.Grammar;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Per-operation write-ahead journal ({@code <state_dir>/journal/<operation_id>.jsonl}): each entry
 * is appended and fsynced BEFORE the action it describes, so Rollback after a crash still knows
 * what may have been done. Rollback therefore treats every entry as "maybe done" and checks.
 */
public final class OperationJournal {
    private final Path dir;
    private final Clock clock;

    public OperationJournal(Path dir, Clock clock) {
        this.dir = dir;
        this.clock = clock;
    }

    public long now() {
        return clock.millis();
    }

    public synchronized void append(String operationId, JournalEntry entry) {
        Grammar.identifier(operationId, "operation_id");
        try {
            Files.createDirectories(dir);
            byte[] line = (Json.lenient().writeValueAsString(entry) + "\n").getBytes(StandardCharsets.UTF_8);
            try (FileChannel channel = FileChannel.open(file(operationId), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
                ByteBuffer buffer = ByteBuffer.wrap(line);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the operation journal " + file(operationId), e);
        }
    }

    public synchronized List<JournalEntry> read(String operationId) {
        Path file = file(operationId);
        if (!Files.exists(file)) {
            return List.of();
        }
        List<JournalEntry> entries = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.isBlank()) {
                    continue;
                }
                try {
                    entries.add(Json.lenient().readValue(line, JournalEntry.class));
                } catch (IOException torn) {
                    // A torn last line from a crash mid-append: the action after it never ran.
                    break;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the operation journal " + file, e);
        }
        return entries;
    }

    /** The ids of every operation with a journal on this host. */
    public synchronized List<String> operations() {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".jsonl"))
                    .map(n -> n.substring(0, n.length() - ".jsonl".length())).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the operation journals in " + dir, e);
        }
    }

    public Path file(String operationId) {
        return dir.resolve(operationId + ".jsonl");
    }
}
