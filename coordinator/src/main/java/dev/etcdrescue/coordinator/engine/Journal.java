package dev.etcdrescue.coordinator.engine;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.files.PrivateFiles;
import dev.etcdrescue.coordinator.report.PhaseName;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The coordinator's record of one run ({@code <work dir>/journal.jsonl}): what was planned, and each
 * phase's start and end with the facts later phases need. Every line is fsynced before the step it
 * announces goes on, so a coordinator killed at any point can be resumed from it.
 */
public final class Journal {
    static final String FILE = "journal.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS);
    /** Facts of every phase share one object: each record reads its own fields and ignores the others'. */
    private static final ObjectMapper FACTS = JSON.copy().disable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private final Path file;
    private final Header header;
    private final Set<PhaseName> done = EnumSet.noneOf(PhaseName.class);
    /** Every fact journalled so far, later lines over earlier ones; read back as the typed record a phase wrote. */
    private final ObjectNode facts = JSON.createObjectNode();

    /**
     * What a resume needs to rebuild the run: the inventory (checked unchanged by its digest) and the
     * options, whole, so that a resumed run runs as the one it continues.
     */
    public record Header(String operationId, String cluster, String inventory, String inventorySha256,
                         RecoveryOptions options) {}

    private Journal(Path file, Header header) {
        this.file = file;
        this.header = header;
    }

    public static Journal create(Path workDir, Header header) {
        try {
            PrivateFiles.createDirectories(workDir);
            Path file = workDir.resolve(FILE);
            if (Files.exists(file)) {
                throw new UserException(FailureKind.BAD_INPUT, file + " already exists: a run lives there; resume it with 'etcd-rescue resume "
                        + workDir + "' or choose another --work-dir");
            }
            Journal j = new Journal(file, header);
            ObjectNode line = JSON.createObjectNode().put("type", "plan");
            line.set("header", JSON.valueToTree(header));
            j.append(line);
            return j;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Journal open(Path workDir) {
        Path file = workDir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new UserException(FailureKind.BAD_INPUT, "no journal at " + file + ": give the work dir that 'etcd-rescue recover' printed");
        }
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            Journal j = null;
            for (String raw : lines) {
                if (raw.isBlank()) {
                    continue;
                }
                JsonNode line;
                try {
                    line = JSON.readTree(raw);
                } catch (IOException torn) {
                    // A coordinator killed mid-write leaves at most a torn last line: what it announced did not happen.
                    break;
                }
                switch (line.path("type").asText()) {
                    case "plan" -> {
                        j = new Journal(file, header(line.get("header"), workDir));
                    }
                    case "phase-done" -> {
                        j.done.add(PhaseName.valueOf(line.get("phase").asText()));
                        j.readFacts(line);
                    }
                    case "facts" -> j.readFacts(line);
                    default -> { }
                }
            }
            if (j == null) {
                throw new UserException(FailureKind.BAD_INPUT, file + " holds no plan: it is not an etcd-rescue journal");
            }
            return j;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A journal written before the options were journalled whole holds some of them flat in its header. */
    private static Header header(JsonNode header, Path workDir) {
        try {
            if (!header.has("options")) {
                return JSON.treeToValue(header, FlatHeader.class).header(workDir);
            }
            Header h = JSON.treeToValue(header, Header.class);
            // The work dir is where the journal is now, should the run's dir have been moved.
            return new Header(h.operationId(), h.cluster(), h.inventory(), h.inventorySha256(), h.options().withWorkDir(workDir));
        } catch (JsonProcessingException e) {
            throw new UserException(FailureKind.BAD_INPUT, "this etcd-rescue cannot read the plan in " + workDir.resolve(FILE)
                    + " (" + e.getOriginalMessage() + "): resume the run with the etcd-rescue that started it");
        }
    }

    public Header header() {
        return header;
    }

    public boolean isDone(PhaseName phase) {
        return done.contains(phase);
    }

    public Set<PhaseName> donePhases() {
        return EnumSet.copyOf(done.isEmpty() ? EnumSet.noneOf(PhaseName.class) : done);
    }

    /** The journalled facts as {@code type} (PreflightFacts, SnapshotFacts, ...); fields never journalled read as null. */
    <T> T facts(Class<T> type) {
        try {
            return FACTS.treeToValue(facts, type);
        } catch (JsonProcessingException e) {
            throw new UserException(FailureKind.BAD_INPUT, "this etcd-rescue cannot read the facts in " + file + " ("
                    + e.getOriginalMessage() + "): resume the run with the etcd-rescue that started it");
        }
    }

    void phaseStarted(PhaseName phase) {
        append(JSON.createObjectNode().put("type", "phase-started").put("phase", phase.name()));
    }

    /** @param newFacts a phase's typed facts (a record), or null when it has none to keep */
    void phaseDone(PhaseName phase, Object newFacts) {
        ObjectNode line = JSON.createObjectNode().put("type", "phase-done").put("phase", phase.name());
        line.set("facts", newFacts == null ? JSON.createObjectNode() : JSON.valueToTree(newFacts));
        append(line);
        done.add(phase);
        readFacts(line);
    }

    /** Facts learnt within a phase, journalled before the step that needs them remembered (a resume reads them back). */
    void record(Object newFacts) {
        ObjectNode line = JSON.createObjectNode().put("type", "facts");
        line.set("facts", JSON.valueToTree(newFacts));
        append(line);
        readFacts(line);
    }

    /** Null fields are not facts: a later line's null never hides an earlier line's value. */
    private void readFacts(JsonNode line) {
        line.path("facts").fields().forEachRemaining(f -> {
            if (!f.getValue().isNull()) {
                facts.set(f.getKey(), f.getValue());
            }
        });
    }

    void note(String type, String message) {
        append(JSON.createObjectNode().put("type", type).put("message", message));
    }

    private synchronized void append(ObjectNode line) {
        line.put("at", java.time.Instant.now().toString());
        try (FileChannel ch = PrivateFiles.append(file)) {
            ch.write(ByteBuffer.wrap((JSON.writeValueAsString(line) + "\n").getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the journal " + file, e);
        }
    }
}
