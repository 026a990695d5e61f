package dev.etcdrescue.coordinator.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.coordinator.cli.ExitCodes;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.report.FleetReport;
import dev.etcdrescue.coordinator.report.FleetReporter;
import dev.etcdrescue.coordinator.report.RecoveryReport;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The rollout's batching and stop rule, with recoveries that only say how they went. */
@Timeout(20)
class RolloutTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final Set<String> started = ConcurrentHashMap.newKeySet();

    private static ClusterPlan cluster(String name) {
        return new ClusterPlan(name, name + "-token", null, Path.of("/nonexistent"), List.of());
    }

    private static RecoveryReport report(String cluster, int exit) {
        return new RecoveryReport(cluster, "op-" + cluster, exit == 0, exit, exit == 0 ? "restored" : "preflight failed on 1 of 3 hosts",
                "/runs/op-" + cluster, null, Map.of(), List.of(), List.of(), null, null);
    }

    private FleetReport roll(RolloutPolicy policy, List<String> names, Set<String> failing) {
        FleetReporter reporter = FleetReporter.text(new PrintStream(out, true, StandardCharsets.UTF_8), false, names);
        return new Rollout(policy, ExitCodes::of).run(names.stream().map(RolloutTest::cluster).toList(), (plan, r) -> {
            started.add(plan.name());
            return report(plan.name(), failing.contains(plan.name()) ? 3 : 0);
        }, reporter);
    }

    @Test
    void aFailureInTheFirstBatchOfOneStopsTheRolloutAndLeavesTheRestUntouched() {
        FleetReport fleet = roll(new RolloutPolicy(1, 50), List.of("bad", "good-1", "good-2"), Set.of("bad"));
        assertThat(started).containsExactly("bad");
        assertThat(fleet.clusters()).extracting(RecoveryReport::cluster).containsExactly("bad");
        assertThat(fleet.notStarted()).containsExactly("good-1", "good-2");
        assertThat(fleet.stoppedAfterBatch()).isEqualTo(1);
        assertThat(fleet.exitCode()).isEqualTo(3);
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("ROLLOUT STOPPED after batch 1: 1 of 1 clusters of the batch failed");
    }

    @Test
    void halfOfABatchFailingDoesNotExceedFiftyPercentSoTheNextBatchRuns() {
        FleetReport fleet = roll(new RolloutPolicy(2, 50), List.of("bad", "good-1", "good-2"), Set.of("bad"));
        assertThat(started).containsExactlyInAnyOrder("bad", "good-1", "good-2");
        assertThat(fleet.clusters()).extracting(RecoveryReport::cluster).containsExactly("bad", "good-1", "good-2");
        assertThat(fleet.notStarted()).isEmpty();
        assertThat(fleet.stoppedAfterBatch()).isNull();
        assertThat(fleet.exitCode()).isEqualTo(3);
        assertThat(fleet.allRecovered()).isFalse();
    }

    @Test
    void theSameFailureStopsAtAStricterPercentage() {
        FleetReport fleet = roll(new RolloutPolicy(2, 49), List.of("bad", "good-1", "good-2"), Set.of("bad"));
        assertThat(fleet.notStarted()).containsExactly("good-2");
        assertThat(fleet.stoppedAfterBatch()).isEqualTo(1);
    }

    @Test
    void everyClusterRecoveredIsExitZero() {
        FleetReport fleet = roll(new RolloutPolicy(1, 0), List.of("a", "b", "c"), Set.of());
        assertThat(fleet.exitCode()).isZero();
        assertThat(fleet.allRecovered()).isTrue();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("FLEET RECOVERED: 3 of 3 clusters recovered, 0 failed, 0 not started");
    }

    @Test
    void exitCodeIsTheFirstFailureInInventoryOrder() {
        List<String> names = List.of("a", "b", "c");
        FleetReporter reporter = FleetReporter.text(new PrintStream(out, true, StandardCharsets.UTF_8), false, names);
        FleetReport fleet = new Rollout(new RolloutPolicy(3, 100), ExitCodes::of).run(names.stream().map(RolloutTest::cluster).toList(),
                (plan, r) -> report(plan.name(), plan.name().equals("a") ? 0 : plan.name().equals("b") ? 4 : 1), reporter);
        assertThat(fleet.exitCode()).isEqualTo(4);
    }

    @Test
    void clustersOfABatchRunAtTheSameTime() {
        List<String> names = List.of("a", "b", "c");
        CyclicBarrier allThree = new CyclicBarrier(3);
        FleetReporter reporter = FleetReporter.text(new PrintStream(out, true, StandardCharsets.UTF_8), false, names);
        FleetReport fleet = new Rollout(new RolloutPolicy(3, 0), ExitCodes::of).run(names.stream().map(RolloutTest::cluster).toList(), (plan, r) -> {
            // Only returns if all three recoveries are running at once.
            allThree.await(5, TimeUnit.SECONDS);
            return report(plan.name(), 0);
        }, reporter);
        assertThat(fleet.exitCode()).isZero();
    }

    @Test
    void aRecoveryThatThrowsIsAFailedClusterNotACrash() {
        List<String> names = List.of("a", "b");
        FleetReporter reporter = FleetReporter.text(new PrintStream(out, true, StandardCharsets.UTF_8), false, names);
        FleetReport fleet = new Rollout(new RolloutPolicy(2, 100), ExitCodes::of).run(names.stream().map(RolloutTest::cluster).toList(),
                (plan, r) -> {
            if (plan.name().equals("a")) {
                throw new UserException(FailureKind.BAD_INPUT, "work dir not writable");
            }
            throw new IllegalStateException("boom");
        }, reporter);
        assertThat(fleet.clusters()).extracting(RecoveryReport::exitCode).containsExactly(2, 70);
        assertThat(fleet.exitCode()).isEqualTo(2);
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("work dir not writable");
    }
}
