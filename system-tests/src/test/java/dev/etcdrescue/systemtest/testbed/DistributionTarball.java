package dev.etcdrescue.systemtest.testbed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** {@code dist/target/etcd-rescue-<version>.tar.gz}, as {@code mvn package} leaves it: what hosts get. */
public final class DistributionTarball {
    private DistributionTarball() {
    }

    /**
     * The newest tarball in {@code dist/target}. Refuses one older than the agent's packaged jar: tests would
     * otherwise install yesterday's agent while the code under test is today's.
     */
    public static Path find(Path projectRoot) {
        Path target = projectRoot.resolve("dist/target");
        Optional<Path> tarball = newest(target, "etcd-rescue-", ".tar.gz");
        if (tarball.isEmpty()) {
            throw new IllegalStateException("no etcd-rescue-*.tar.gz in " + target
                    + ": run mvn -B -DskipTests package first (the dist module builds it)");
        }
        Optional<Path> agentJar = newest(projectRoot.resolve("agent/target/lib"), "etcd-rescue-agent-", ".jar");
        if (agentJar.isPresent() && modified(agentJar.get()).compareTo(modified(tarball.get())) > 0) {
            throw new IllegalStateException(tarball.get() + " is older than " + agentJar.get()
                    + ": run mvn -B -DskipTests package again (the dist module rebuilds it)");
        }
        return tarball.get();
    }

    private static Optional<Path> newest(Path dir, String prefix, String suffix) {
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> matching = files.filter(f -> {
                String name = f.getFileName().toString();
                return name.startsWith(prefix) && name.endsWith(suffix) && Files.isRegularFile(f);
            }).toList();
            return matching.stream().max(Comparator.comparing(DistributionTarball::modified));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static FileTime modified(Path file) {
        try {
            return Files.getLastModifiedTime(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
