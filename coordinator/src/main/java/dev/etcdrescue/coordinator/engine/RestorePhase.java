package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.proto.v1.RestoreRequest;
import dev.etcdrescue.proto.v1.RestoreResult;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.time.Duration;
import java.util.Locale;

/** Every agent runs `snapshot restore` for its own member with the whole initial cluster. */
final class RestorePhase implements Phase {
    @Override
    public PhaseName name() {
        return PhaseName.RESTORE;
    }

    /**
     * The restore tool's own pass over the snapshot is redundant here, and it costs a full read and hash of
     * the file on every host at once (docs/decisions/0009): the coordinator checked the SHA-256 trailer while
     * receiving the snapshot (a file whose trailer does not match never gets past the snapshot phase), and
     * distribute goes on only when every agent found the whole file's SHA-256 equal to the coordinator's. A
     * file without a trailer (a raw db, --allow-no-hash-trailer) cannot be checked by the tool at all.
     */
    static boolean skipHashCheck(SnapshotDigest.Trailer trailer) {
        return switch (trailer) {
            case VALID, ABSENT -> true;
            case MISMATCH -> false;
        };
    }

    @Override
    public void run(RecoveryRun run) throws Exception {
        // bbolt rewrites the whole keyspace; 5 MB/s is a pessimistic floor on a loaded disk.
        Duration budget = Duration.ofMinutes(5).plusSeconds(run.snapshot.size() / 5_000_000);
        boolean skipHash = skipHashCheck(run.snapshot.trailer());
        run.forEachHost(name(), (m, agent) -> {
            RestoreResult r = agent.restore(RestoreRequest.newBuilder()
                    .setHeader(run.header(m))
                    .setTransferId(run.transferId)
                    .setMember(MemberSpecs.of(run.plan, m))
                    .setSkipHashCheck(skipHash)
                    .setBumpRevision(run.bump)
                    .setMarkCompacted(run.bump > 0)
                    .setBaseUnit(m.baseUnit())
                    .build(), budget);
            String msg = String.format(Locale.ROOT, "restored %s into %s with %s %s in %.1fs, owner %s", m.etcdName(),
                    r.getDataDir(), r.getTool().getKind().name().toLowerCase(Locale.ROOT), r.getTool().getVersion(),
                    r.getDurationMs() / 1000.0, r.getOwner());
            if (skipHash) {
                msg += "; --skip-hash-check: the file's SHA-256 was verified on arrival";
            }
            if (run.bump > 0) {
                msg += "; revisions bumped by " + run.bump + " (compacted below)";
            }
            if (!r.getMovedAsideTo().isEmpty()) {
                msg += "; the directory that was there is kept at " + r.getMovedAsideTo();
            }
            return RecoveryRun.Done.changed(msg);
        });
    }
}
