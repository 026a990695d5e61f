package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.report.SnapshotSummary;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.nio.file.Path;

/**
 * The snapshot the run took or read, and the id agents stage it under, journalled after the snapshot and
 * distribute phases so that a resumed run restores the same verified file.
 *
 * @param transferId null in journals from before it was journalled: the file's own then
 * @param holder the host whose agent took and holds the snapshot; null when the coordinator holds the file
 *     (and in journals from before agents took snapshots)
 * @param distribution how the run distributes, as the snapshot phase resolved it; null in older journals: the option's
 */
record SnapshotFacts(SnapshotSummary snapshot, String snapshotTrailer, String transferId, String holder, String distribution) {

    static SnapshotFacts of(RecoveryRun run) {
        return new SnapshotFacts(run.snapshotSummary, run.snapshot.trailer().name(), run.transferId, run.snapshotHolder,
                run.distribution == null ? null : run.distribution.name());
    }

    void applyTo(RecoveryRun run) {
        run.snapshotSummary = snapshot;
        run.snapshot = new SnapshotFile(Path.of(snapshot.path()), snapshot.size(), snapshot.sha256(),
                SnapshotDigest.Trailer.valueOf(snapshotTrailer));
        run.expectedRevision = snapshot.revision();
        run.transferId = transferId != null ? transferId : run.snapshot.transferId();
        run.snapshotHolder = holder;
        if (distribution != null) {
            run.distribution = dev.etcdrescue.coordinator.agent.SnapshotDistribution.Mode.valueOf(distribution);
        }
    }
}
