package dev.etcdrescue.coordinator.report;

import java.util.List;

/**
 * A rollout over several clusters, as {@code recover -w json} prints it when the selection holds
 * more than one cluster.
 *
 * @param clusters the report of every cluster that ran, in inventory order
 * @param notStarted clusters the rollout stopped before: nothing was done to them
 * @param stoppedAfterBatch the batch (from 1) after which the rollout stopped; null when every batch ran
 */
public record FleetReport(List<RecoveryReport> clusters, List<String> notStarted, Integer stoppedAfterBatch) {
    public FleetReport {
        clusters = List.copyOf(clusters);
        notStarted = List.copyOf(notStarted);
    }

    /** 0 when every cluster recovered; otherwise the exit code of the first failed cluster in inventory order. */
    public int exitCode() {
        return clusters.stream().filter(r -> !r.success()).mapToInt(RecoveryReport::exitCode).findFirst().orElse(0);
    }

    public boolean allRecovered() {
        return notStarted.isEmpty() && clusters.stream().allMatch(RecoveryReport::success);
    }
}
