package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.report.PhaseName;

/** Which typed facts each phase journals when it is done, and how a resumed run reads them back. */
final class PhaseFacts {
    private PhaseFacts() {}

    /** What a phase leaves for later phases and for a resumed run: journalled with its phase-done line. */
    static Object of(RecoveryRun run, PhaseName phase) {
        return switch (phase) {
            case PREFLIGHT -> PreflightFacts.of(run);
            case SNAPSHOT, DISTRIBUTE -> SnapshotFacts.of(run);
            default -> run.oldStoppedAtMillis > 0 ? InPlaceFacts.of(run) : null;
        };
    }

    /** A resumed run: what the phase done in an earlier attempt had decided, from the journal. */
    static void restore(RecoveryRun run, PhaseName phase, Journal journal) {
        switch (phase) {
            case PREFLIGHT -> journal.facts(PreflightFacts.class).applyTo(run);
            case SNAPSHOT, DISTRIBUTE -> journal.facts(SnapshotFacts.class).applyTo(run);
            default -> journal.facts(InPlaceFacts.class).applyTo(run);
        }
    }
}
