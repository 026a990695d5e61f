package dev.etcdrescue.agent.cleanup;

import dev.etcdrescue.agent.io.DirHandles;
import dev.etcdrescue.agent.io.SafeFiles;
import dev.etcdrescue.agent.journal.JournalEntry;
import dev.etcdrescue.agent.journal.OperationJournal;
import dev.etcdrescue.proto.v1.Leftover;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What operations leave behind on purpose (nothing is ever deleted while acting): moved-aside and
 * rolled-back copies next to their originals, and the staging dir's files.
 *
 * <p>Copies next to their originals lie in dirs the service user can write (the data roots), where
 * anyone may create a name that looks like the agent's. So only what an operation's journal
 * recorded as moved or left aside is a leftover, and removal goes through directory handles: a
 * journaled name that was swapped for a link loses the link, never what it points to.
 */
public final class Leftovers {
    private final OperationJournal journal;
    private final Path stagingDir;

    public Leftovers(OperationJournal journal, Path stagingDir) {
        this.journal = journal;
        this.stagingDir = stagingDir;
    }

    public List<Leftover> find() {
        Map<String, Leftover> out = new LinkedHashMap<>();
        for (String operation : journal.operations()) {
            for (JournalEntry e : journal.read(operation)) {
                if (e.kind() == JournalEntry.Kind.MOVED_ASIDE || e.kind() == JournalEntry.Kind.LEFT_ASIDE) {
                    Path p = Path.of(e.movedTo());
                    if (SafeFiles.exists(p)) {
                        String kind = p.getFileName().toString().contains(".rolled-back-") ? "rolled-back" : "moved-aside";
                        out.putIfAbsent(p.toString(), leftover(p, kind));
                    }
                }
            }
        }
        // The staging dir belongs to the agent alone, so its names are its own.
        for (Path p : list(stagingDir)) {
            String name = p.getFileName().toString();
            String kind = name.contains(".corrupt-") || name.contains(".invalid-") || name.contains(".stale-") ? "refused-transfer"
                    : name.endsWith(".part") ? "partial-transfer" : name.endsWith(".db") ? "staged-snapshot" : null;
            if (kind != null) {
                out.putIfAbsent(p.toString(), leftover(p, kind));
            }
        }
        return List.copyOf(out.values());
    }

    /** Removes exactly the given leftovers (as found just before), returning what was removed. */
    public List<String> remove(List<Leftover> leftovers) {
        List<String> removed = new ArrayList<>();
        for (Leftover l : leftovers) {
            Path p = Path.of(l.getPath());
            try (SecureDirectoryStream<Path> parent = DirHandles.open(p.getParent())) {
                DirHandles.deleteTree(parent, p.getFileName());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot remove " + p, e);
            }
            removed.add(p.toString());
        }
        return removed;
    }

    private static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Leftover leftover(Path p, String kind) {
        return Leftover.newBuilder().setPath(p.toString()).setBytes(size(p)).setKind(kind).build();
    }

    private static long size(Path p) {
        if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            try {
                return Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) ? Files.size(p) : 0;
            } catch (IOException e) {
                return 0;
            }
        }
        try (Stream<Path> s = Files.walk(p)) {
            return s.filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)).mapToLong(f -> {
                try {
                    return Files.size(f);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        } catch (IOException | UncheckedIOException e) {
            return 0;
        }
    }
}
