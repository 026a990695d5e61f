package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.report.PhaseName;

/** One step of a recovery. A phase reports per host and throws {@link PhaseFailedException} to stop the run. */
interface Phase {
    PhaseName name();

    void run(RecoveryRun run) throws Exception;
}
