package dev.etcdrescue.coordinator.member;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.files.PrivateFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A replace-member run's record ({@code <run dir>/replace.jsonl}): the plan, then each step once done, with
 * what later steps need (the learner's member id above all). Every line is fsynced before the run goes on,
 * so a resumed run never adds the member a second time.
 */
public final class ReplaceJournal {
    public static final String FILE = "replace.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;
    private final Header header;
    private final Map<String, JsonNode> done = new LinkedHashMap<>();

    /** What a resume needs: the operation, the cluster and member, and the inventory (checked unchanged by its digest). */
    /** {@code to}: the host the new member runs on when it is not the member's own ({@code --to}); null otherwise. */
    public record Header(String operationId, String cluster, String member, String inventory, String inventorySha256, String to) {
        public Header(String operationId, String cluster, String member, String inventory, String inventorySha256) {
            this(operationId, cluster, member, inventory, inventorySha256, null);
        }
    }

    /** The steps in order. */
    public static final List<String> STEPS = List.of("snapshot", "removed", "fenced", "added", "configured", "promoted", "cut-over",
            "verified");

    private ReplaceJournal(Path file, Header header) {
        this.file = file;
        this.header = header;
    }

    public static boolean isRun(Path dir) {
        return Files.isRegularFile(dir.resolve(FILE));
    }

    public static ReplaceJournal create(Path dir, Header header) {
        try {
            PrivateFiles.createDirectories(dir);
            Path file = dir.resolve(FILE);
            if (Files.exists(file)) {
                throw new UserException(FailureKind.BAD_INPUT, file + " already exists: a run lives there; resume it with 'etcd-rescue resume "
                        + dir + "' or choose another --work-dir");
            }
            ReplaceJournal j = new ReplaceJournal(file, header);
            ObjectNode line = JSON.createObjectNode().put("type", "plan");
            line.set("header", JSON.valueToTree(header));
            j.append(line);
            return j;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static ReplaceJournal open(Path dir) {
        Path file = dir.resolve(FILE);
        try {
            ReplaceJournal j = null;
            for (String raw : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                JsonNode line;
                try {
                    line = JSON.readTree(raw);
                } catch (IOException torn) {
                    break; // a coordinator killed mid-write: what the torn line announced did not happen
                }
                if (line == null) {
                    continue;
                }
                if ("plan".equals(line.path("type").asText())) {
                    j = new ReplaceJournal(file, JSON.treeToValue(line.get("header"), Header.class));
                } else if (j != null && "done".equals(line.path("type").asText())) {
                    j.done.put(line.path("step").asText(), line);
                }
            }
            if (j == null) {
                throw new UserException(FailureKind.BAD_INPUT, file + " holds no plan: it is not a replace-member journal");
            }
            return j;
        } catch (IOException e) {
            throw new UserException(FailureKind.BAD_INPUT, "cannot read " + file + ": " + e.getMessage());
        }
    }

    public Header header() {
        return header;
    }

    public boolean isDone(String step) {
        return done.containsKey(step);
    }

    /** A fact a done step recorded ("id" of "added"); empty when the step is not done or recorded no such fact. */
    public Optional<String> fact(String step, String key) {
        return Optional.ofNullable(done.get(step)).map(n -> n.get(key)).map(JsonNode::asText);
    }

    /** Records {@code step} as done with its facts (key, value, key, value...). */
    public void done(String step, String... facts) {
        ObjectNode line = JSON.createObjectNode().put("type", "done").put("step", step);
        for (int i = 0; i + 1 < facts.length; i += 2) {
            line.put(facts[i], facts[i + 1]);
        }
        try {
            append(line);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        done.put(step, line);
    }

    private void append(ObjectNode line) throws IOException {
        try (FileChannel ch = PrivateFiles.append(file)) {
            ch.write(ByteBuffer.wrap((JSON.writeValueAsString(line) + "\n").getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        }
    }
}
