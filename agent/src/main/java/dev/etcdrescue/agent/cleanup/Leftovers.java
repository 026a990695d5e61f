package dev.etcdrescue.agent.cleanup;

import dev.etcdrescue.agent.config.AgentConfig;
import dev.etcdrescue.proto.v1.Leftover;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * What operations leave behind on purpose (nothing is ever deleted while acting): moved-aside and
 * rolled-back copies next to their originals, and the staging dir's files. Only names carrying the
 * agent's own suffixes are candidates, and only in the dirs the agent writes.
 */
public final class Leftovers {
    private final AgentConfig config;

    public Leftovers(AgentConfig config) {
        this.config = config;
    }

    public List<Leftover> find() {
        List<Leftover> out = new ArrayList<>();
        List<Path> dirs = new ArrayList<>(List.of(config.envDir(), config.unitDir()));
        dirs.addAll(config.allowedDataRoots());
        for (Path dir : dirs) {
            for (Path p : list(dir)) {
                asideKind(p.getFileName().toString()).ifPresent(kind -> out.add(leftover(p, kind)));
            }
        }
        for (Path p : list(config.stagingDir())) {
            String name = p.getFileName().toString();
            String kind = name.contains(".corrupt-") || name.contains(".invalid-") || name.contains(".stale-") ? "refused-transfer"
                    : name.endsWith(".part") ? "partial-transfer" : name.endsWith(".db") ? "staged-snapshot" : null;
            if (kind != null) {
                out.add(leftover(p, kind));
            }
        }
        return out;
    }

    /** Removes exactly the given leftovers (as found just before), returning what was removed. */
    public List<String> remove(List<Leftover> leftovers) {
        List<String> removed = new ArrayList<>();
        for (Leftover l : leftovers) {
            Path p = Path.of(l.getPath());
            deleteTree(p);
            removed.add(p.toString());
        }
        return removed;
    }

    static Optional<String> asideKind(String name) {
        if (name.contains(".rolled-back-")) {
            return Optional.of("rolled-back");
        }
        if (name.contains(".etcd-rescue-")) {
            return Optional.of("moved-aside");
        }
        return Optional.empty();
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
                return Files.size(p);
            } catch (IOException e) {
                return 0;
            }
        }
        try (Stream<Path> s = Files.walk(p)) {
            return s.filter(Files::isRegularFile).mapToLong(f -> {
                try {
                    return Files.size(f);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        } catch (IOException e) {
            return 0;
        }
    }

    private static void deleteTree(Path p) {
        try {
            if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                Files.deleteIfExists(p);
                return;
            }
            Files.walkFileTree(p, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                    Files.delete(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + p, e);
        }
    }
}
