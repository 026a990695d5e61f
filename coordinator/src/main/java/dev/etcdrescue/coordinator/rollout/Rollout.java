package dev.etcdrescue.coordinator.rollout;

import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.report.FleetReport;
import dev.etcdrescue.coordinator.report.FleetReporter;
import dev.etcdrescue.coordinator.report.RecoveryReport;
import dev.etcdrescue.coordinator.report.Reporter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToIntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Recovers the clusters of a fleet batch by batch ({@link RolloutPolicy}): the clusters of a batch
 * recover at the same time, each with its own recovery; after each batch the policy decides
 * whether the rollout goes on. Clusters after a stop are not touched at all.
 */
public final class Rollout {
    private static final Logger log = LoggerFactory.getLogger(Rollout.class);

    /** Recovers one cluster and says how it went; failures are a report, not an exception. */
    @FunctionalInterface
    public interface ClusterRecovery {
        RecoveryReport recover(ClusterPlan plan, Reporter reporter) throws Exception;
    }

    private final RolloutPolicy policy;
    private final ToIntFunction<FailureKind> exitCodes;

    /** @param exitCodes the CLI's exit code of each failure kind, for the report of a cluster whose recovery threw */
    public Rollout(RolloutPolicy policy, ToIntFunction<FailureKind> exitCodes) {
        this.policy = policy;
        this.exitCodes = exitCodes;
    }

    /** Runs the rollout and reports it to the end (the fleet recap or JSON document included). */
    public FleetReport run(List<ClusterPlan> clusters, ClusterRecovery recovery, FleetReporter reporter) {
        FleetReport report = roll(clusters, recovery, reporter);
        reporter.finished(report);
        return report;
    }

    private FleetReport roll(List<ClusterPlan> clusters, ClusterRecovery recovery, FleetReporter reporter) {
        List<List<ClusterPlan>> batches = policy.batches(clusters);
        reporter.rolloutStarted(batches.size(), policy.serial(), policy.maxFailPercentage());
        List<RecoveryReport> reports = new ArrayList<>();
        AtomicInteger threadNo = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(policy.serial(), clusters.size())), r -> {
            Thread t = new Thread(r, "rollout-" + threadNo.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            for (int b = 0; b < batches.size(); b++) {
                List<ClusterPlan> batch = batches.get(b);
                reporter.batchStarted(b + 1, batches.size(), names(batch));
                List<RecoveryReport> batchReports = runBatch(batch, recovery, reporter, pool);
                reports.addAll(batchReports);
                int failed = (int) batchReports.stream().filter(r -> !r.success()).count();
                Optional<String> stop = policy.stopReason(failed, batch.size());
                if (stop.isPresent() && b + 1 < batches.size()) {
                    List<String> notStarted = batches.subList(b + 1, batches.size()).stream()
                            .flatMap(rest -> names(rest).stream()).toList();
                    reporter.stopped(b + 1, stop.get(), notStarted);
                    return new FleetReport(reports, notStarted, b + 1);
                }
            }
            return new FleetReport(reports, List.of(), null);
        } finally {
            pool.shutdownNow();
        }
    }

    /** Every cluster of the batch at once; their reports in batch (inventory) order once all have ended. */
    private List<RecoveryReport> runBatch(List<ClusterPlan> batch, ClusterRecovery recovery, FleetReporter reporter,
                                                 ExecutorService pool) {
        Map<ClusterPlan, Future<RecoveryReport>> running = new LinkedHashMap<>();
        for (ClusterPlan plan : batch) {
            Reporter clusterReporter = reporter.forCluster(plan.name());
            running.put(plan, pool.submit(() -> recovery.recover(plan, clusterReporter)));
        }
        List<RecoveryReport> out = new ArrayList<>();
        for (var e : running.entrySet()) {
            out.add(await(e.getKey(), e.getValue()));
        }
        return out;
    }

    private RecoveryReport await(ClusterPlan plan, Future<RecoveryReport> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            future.cancel(true);
            return failed(plan, exitCodes.applyAsInt(FailureKind.PHASE_FAILED), "interrupted before the recovery of " + plan.name() + " ended");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof UserException user) {
                return failed(plan, exitCodes.applyAsInt(user.kind()), user.getMessage());
            }
            log.error("the recovery of {} failed unexpectedly", plan.name(), cause);
            return failed(plan, exitCodes.applyAsInt(FailureKind.INTERNAL), "internal error: " + cause + " (a bug; the log has the stack trace)");
        }
    }

    /** The report of a cluster whose recovery could not run at all. */
    private static RecoveryReport failed(ClusterPlan plan, int exitCode, String message) {
        return new RecoveryReport(plan.name(), null, false, exitCode, message, null, null, Map.of(), List.of(), List.of(), null, null);
    }

    private static List<String> names(List<ClusterPlan> plans) {
        return plans.stream().map(ClusterPlan::name).toList();
    }
}
