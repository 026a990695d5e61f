package dev.etcdrescue.agent.backup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backup code's scratch in the agent's staging dir, removed when the agent starts: what a backup, drill,
 * read-back or fetch it did not finish (killed, or the host rebooted) left there. Only the backup code makes
 * these names, and each is scratch by design: a snapshot before it is packed ({@code backup-}, and
 * {@code backup-unpack-} for a backup being staged), a drill's dir with its throwaway member's data
 * ({@code drill-}), a copy unpacked to be read back ({@code verify-}) or fetched ({@code fetch-}). The
 * throwaway member's etcd ended with the agent: systemd stops the unit's whole cgroup.
 */
final class BackupScratch {
    private static final Logger log = LoggerFactory.getLogger(BackupScratch.class);
    private static final List<String> PREFIXES = List.of("backup-", "drill-", "verify-", "fetch-");

    private BackupScratch() {}

    /** Removes the scratch left in {@code staging}; returns what it removed. */
    static List<Path> removeLeftBehind(Path staging) throws IOException {
        if (!Files.isDirectory(staging)) {
            return List.of();
        }
        List<Path> removed = new ArrayList<>();
        try (Stream<Path> entries = Files.list(staging)) {
            for (Path p : entries.filter(BackupScratch::isScratch).toList()) {
                removeTree(p);
                removed.add(p);
                log.info("removed {}: backup scratch an earlier run of the agent did not finish", p);
            }
        }
        return removed;
    }

    private static boolean isScratch(Path p) {
        String name = p.getFileName().toString();
        return PREFIXES.stream().anyMatch(name::startsWith);
    }

    /** Depth first, links removed as links (never followed). */
    private static void removeTree(Path root) throws IOException {
        try (Stream<Path> tree = Files.walk(root)) {
            for (Path p : tree.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
