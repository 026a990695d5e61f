package dev.etcdrescue.coordinator.report;

import java.util.List;
import java.util.Map;

/** The whole run, as `-w json` prints it and as the work dir keeps it (report.json). */
public record RecoveryReport(
        String cluster,
        String operationId,
        boolean success,
        int exitCode,
        String message,
        String workDir,
        SnapshotSummary snapshot,
        Map<String, Long> phaseMillis,
        List<HostResult> results,
        List<Check> checks,
        String newClientEndpoints,
        /** A restore in place: from the stop of the old members until the new cluster served clients; null otherwise. */
        Long survivorDowntimeMillis) {

    /** One verify check: what was compared, whether it held, and the detail when it did not. */
    public record Check(String name, boolean ok, String detail) {}
}
