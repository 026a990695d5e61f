package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.IoErrors;
import dev.etcdrescue.coordinator.inventory.SnapshotSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What becomes of the snapshot a run took into its work dir once the run is over. It holds every
 * key of the cluster (every Kubernetes Secret): after a verified recovery nothing needs it, so it is
 * removed unless the operator asked to keep it; after a failure a resume needs it, so it stays. The same for a
 * backup fetched into the work dir. A snapshot file the inventory named is the operator's own and is never touched.
 */
final class SnapshotRetention {
    private static final Logger log = LoggerFactory.getLogger(SnapshotRetention.class);

    private SnapshotRetention() {}

    /** Removes or keeps the run's snapshot and says which in the report's snapshot summary ({@code kept}, {@code retention}). */
    static void settle(RecoveryRun run, boolean verified) {
        if (run.snapshot == null || run.plan.snapshot() instanceof SnapshotSource.File f && !f.runOwned()) {
            return;
        }
        if (run.snapshotHolder != null) {
            // The path is on that host, not here: the agents' staged copies are what cleanup lists and removes.
            if (run.snapshotSummary != null) {
                run.snapshotSummary = run.snapshotSummary.settled(true, "staged on the hosts' agents (the source, " + run.snapshotHolder
                        + ", took it); it holds every key of the cluster: 'etcd-rescue cleanup -i INVENTORY --remove' removes it");
            }
            return;
        }
        Path file = run.snapshot.path();
        if (!Files.exists(file)) {
            return;
        }
        String sentence;
        boolean kept = true;
        if (!verified) {
            sentence = "kept at " + file + " for a resume; it holds every key of the cluster, so remove it once it is not needed";
        } else if (run.options.keepSnapshot()) {
            sentence = "kept at " + file + " (--keep-snapshot); it holds every key of the cluster, so remove it once it is not needed";
        } else {
            try {
                // Unlinks the name only: a link planted there loses the link, not its target.
                Files.delete(file);
                kept = false;
                sentence = "removed " + file + " after the verified recovery (it held every key); --keep-snapshot keeps it";
            } catch (IOException e) {
                sentence = "could not remove " + file + " (" + IoErrors.describe(e) + "); it holds every key of the cluster: remove it by hand";
                log.warn(sentence);
            }
        }
        if (run.snapshotSummary != null) {
            run.snapshotSummary = run.snapshotSummary.settled(kept, sentence);
        }
    }
}
