package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.proto.v1.RestoreRequest;
import dev.etcdrescue.proto.v1.RestoreResult;
import java.time.Duration;
import java.util.Locale;

/** Every agent runs `snapshot restore` for its own member with the whole initial cluster. */
final class RestorePhase implements Phase {
    @Override
    public PhaseName name() {
        return PhaseName.RESTORE;
    }

    @Override
    public void run(RecoveryRun run) throws Exception {
        // bbolt rewrites the whole keyspace; 5 MB/s is a pessimistic floor on a loaded disk.
        Duration budget = Duration.ofMinutes(5).plusSeconds(run.snapshot.size() / 5_000_000);
        boolean skipHash = run.snapshot.trailer() == SnapshotFile.Trailer.ABSENT;
        run.forEachHost(name(), (m, agent) -> {
            RestoreResult r = agent.restore(RestoreRequest.newBuilder()
                    .setHeader(run.header(m))
                    .setTransferId(run.snapshot.transferId())
                    .setMember(MemberSpecs.of(run.plan, m))
                    .setSkipHashCheck(skipHash)
                    .setBumpRevision(run.bump)
                    .setMarkCompacted(run.bump > 0)
                    .setBaseUnit(m.oldUnit())
                    .build(), budget);
            String msg = String.format(Locale.ROOT, "restored %s into %s with %s %s in %.1fs, owner %s", m.etcdName(),
                    r.getDataDir(), r.getTool().getKind().name().toLowerCase(Locale.ROOT), r.getTool().getVersion(),
                    r.getDurationMs() / 1000.0, r.getOwner());
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
