package dev.etcdrescue.coordinator.report;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class FleetReporterTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private PrintStream stream(ByteArrayOutputStream bytes) {
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }

    private static RecoveryReport report(String cluster, boolean ok) {
        return new RecoveryReport(cluster, "op-" + cluster, ok, ok ? 0 : 3, ok ? "restored" : "preflight failed on 1 of 3 hosts:\n  h: down",
                "/runs/op-" + cluster, null, Map.of(), List.of(new HostResult("h-" + cluster, PhaseName.PREFLIGHT,
                ok ? Outcome.OK : Outcome.FAILED, "x", Duration.ZERO)), List.of(), null, null);
    }

    @Test
    void concurrentClustersNeverMixWithinALineAndEveryLineNamesItsCluster() throws Exception {
        List<String> names = List.of("alpha", "be");
        FleetReporter fleet = FleetReporter.text(stream(out), false, names);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Future<?>> done = new ArrayList<>();
        for (String name : names) {
            Reporter r = fleet.forCluster(name);
            done.add(pool.submit(() -> {
                r.runStarted(name, "op-" + name, "/runs/op-" + name);
                for (int i = 0; i < 500; i++) {
                    r.phaseStarted(PhaseName.RESTORE);
                    r.hostResult(new HostResult(name + "-host-" + i, PhaseName.RESTORE, Outcome.CHANGED, "restored " + name + " " + i,
                            Duration.ZERO));
                }
                r.runFinished(report(name, true));
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).isNotEmpty().allSatisfy(line -> assertThat(line).matches("(alpha \\|.*|be    \\|.*)"));
        for (String line : lines) {
            String cluster = line.substring(0, line.indexOf(' '));
            if (line.contains("restored ")) {
                assertThat(line).as("a line of %s holds only its own text", cluster).contains("[" + cluster
                        + "-host-").contains("restored " + cluster + " ");
            }
        }
        // A cluster's recap is one block: from its RECAP header to its report line, no other cluster's line.
        int recap = lines.indexOf("alpha | RECAP ********************************************************************");
        assertThat(recap).isNotNegative();
        for (int i = recap; !lines.get(i).contains("report: "); i++) {
            assertThat(lines.get(i)).startsWith("alpha |");
        }
    }

    @Test
    void recapListsEveryClusterWithItsStateAndWorkDir() {
        FleetReporter fleet = FleetReporter.text(stream(out), false, List.of("a", "b", "c"));
        fleet.finished(new FleetReport(List.of(report("a", false), report("b", true)), List.of("c"), 1));
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(text).contains("a : failed (exit 3)   work dir: /runs/op-a")
                .contains("    preflight failed on 1 of 3 hosts:")
                .contains("b : recovered         work dir: /runs/op-b")
                .contains("c : not started\n")
                .contains("rollout stopped after batch 1")
                .contains("FLEET FAILED: 1 of 3 clusters recovered, 1 failed, 1 not started");
    }

    @Test
    void jsonIsOneDocumentOnStdoutWithProgressOnStderr() throws Exception {
        FleetReporter fleet = FleetReporter.json(stream(out), stream(err), List.of("a", "b"));
        Reporter a = fleet.forCluster("a");
        a.runStarted("a", "op-a", "/runs/op-a");
        a.runFinished(report("a", false));
        fleet.stopped(1, "1 of 1 clusters of the batch failed", List.of("b"));
        fleet.finished(new FleetReport(List.of(report("a", false)), List.of("b"), 1));
        JsonNode doc = JsonReporter.mapper().readTree(out.toString(StandardCharsets.UTF_8));
        assertThat(doc.get("clusters")).hasSize(1);
        assertThat(doc.get("clusters").get(0).get("cluster").asText()).isEqualTo("a");
        assertThat(doc.get("clusters").get(0).get("exitCode").asInt()).isEqualTo(3);
        assertThat(doc.get("notStarted").get(0).asText()).isEqualTo("b");
        assertThat(doc.get("stoppedAfterBatch").asInt()).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("a | RECOVER cluster a").contains("ROLLOUT STOPPED after batch 1");
    }

    @Test
    void aSingleClusterKeepsTheOneClusterOutput() throws Exception {
        FleetReporter fleet = FleetReporter.json(stream(out), stream(err), List.of("a"));
        Reporter a = fleet.forCluster("a");
        a.runStarted("a", "op-a", "/runs/op-a");
        a.runFinished(report("a", true));
        fleet.finished(new FleetReport(List.of(report("a", true)), List.of(), null));
        JsonNode doc = JsonReporter.mapper().readTree(out.toString(StandardCharsets.UTF_8));
        assertThat(doc.get("cluster").asText()).isEqualTo("a");
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("RECOVER cluster a");
    }
}
