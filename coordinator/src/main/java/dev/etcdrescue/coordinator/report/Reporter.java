package dev.etcdrescue.coordinator.report;

import java.time.Duration;

/** Receives what a run does, as it happens. Implementations must be thread-safe: hosts run in parallel. */
public interface Reporter {
    void runStarted(String cluster, String operationId, String workDir);

    void phaseStarted(PhaseName phase);

    void hostResult(HostResult result);

    /** A cluster-wide fact worth a line (which member was chosen as source, and why). */
    void note(PhaseName phase, String message);

    /** Bytes a host holds of a transfer so far. */
    void transferProgress(String host, long bytes, long total);

    void phaseFinished(PhaseName phase, Duration took, boolean ok);

    void runFinished(RecoveryReport report);
}
