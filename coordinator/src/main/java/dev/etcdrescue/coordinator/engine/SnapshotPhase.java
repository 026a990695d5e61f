package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.cli.ExitCodes;
import dev.etcdrescue.coordinator.inventory.SnapshotSource;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.coordinator.snapshot.SnapshotTaker;
import dev.etcdrescue.coordinator.snapshot.bolt.BoltSnapshot;
import dev.etcdrescue.coordinator.snapshot.bolt.NotASnapshotException;
import dev.etcdrescue.coordinator.snapshot.bolt.SnapshotInfo;
import java.time.Duration;

/** Takes the snapshot from the chosen survivor, or checks the given file; either way the trailer is checked here. */
final class SnapshotPhase implements Phase {
    private final SnapshotTaker taker;

    SnapshotPhase(SnapshotTaker taker) {
        this.taker = taker;
    }

    @Override
    public PhaseName name() {
        return PhaseName.SNAPSHOT;
    }

    @Override
    public void run(RecoveryRun run) throws Exception {
        long t0 = System.nanoTime();
        SnapshotFile file;
        String origin;
        if (run.plan.snapshot() instanceof SnapshotSource.File f) {
            file = SnapshotFile.inspect(f.path());
            origin = "file " + f.path();
        } else {
            java.nio.file.Files.createDirectories(run.options.workDir());
            file = taker.take(run.source, run.options.workDir().resolve("snapshot.db"), Duration.ofMinutes(30));
            origin = "member " + run.source.endpoint() + " at revision " + run.source.revision();
        }
        switch (file.trailer()) {
            case MISMATCH -> throw new PhaseFailedException(name(), ExitCodes.PREFLIGHT_REFUSED, "snapshot " + file.path()
                    + " is corrupt: its SHA-256 trailer does not match its content. Nothing was changed on any host; "
                    + "take a new snapshot or use another backup");
            case ABSENT -> {
                if (!run.options.allowNoHashTrailer()) {
                    throw new PhaseFailedException(name(), ExitCodes.PREFLIGHT_REFUSED, "snapshot " + file.path()
                            + " has no SHA-256 trailer, so its integrity cannot be checked (a raw member/snap/db, or not a snapshot). "
                            + "If it is a db file copied from a member, pass --allow-no-hash-trailer. Nothing was changed on any host");
                }
            }
            case VALID -> { }
        }
        SnapshotInfo info;
        try {
            info = BoltSnapshot.read(file.path());
        } catch (NotASnapshotException e) {
            throw new PhaseFailedException(name(), ExitCodes.PREFLIGHT_REFUSED, "snapshot " + e.getMessage()
                    + ". Nothing was changed on any host; take a new snapshot or use another backup");
        }
        if (run.source != null && info.revision() < run.source.revision()) {
            throw new PhaseFailedException(name(), ExitCodes.FAILED, "snapshot " + file.path() + " holds revision "
                    + info.revision() + " but " + run.source.endpoint() + " reported " + run.source.revision()
                    + " before it was taken: the file is not that member's data");
        }
        run.expectedRevision = info.revision();
        run.snapshotFacts.put("revision", info.revision());
        run.snapshotFacts.put("totalKeys", info.totalKeys());
        run.snapshotFacts.put("etcdHash", info.hash());
        run.snapshotFacts.put("consistentIndex", info.consistentIndex());
        run.snapshot = file;
        run.snapshotFacts.put("path", file.path().toString());
        run.snapshotFacts.put("size", file.size());
        run.snapshotFacts.put("sha256", file.sha256());
        run.snapshotFacts.put("hashTrailer", file.trailer().name().toLowerCase(java.util.Locale.ROOT));
        run.snapshotFacts.put("origin", origin);
        run.recordCluster(name(), Outcome.OK, String.format(java.util.Locale.ROOT,
                "%s: %d bytes, revision %d, %d keys, sha256 %s, hash trailer %s", origin, file.size(), info.revision(),
                info.totalKeys(), file.sha256(), file.trailer().name().toLowerCase(java.util.Locale.ROOT)),
                PreflightPhase.since(t0));
    }
}
