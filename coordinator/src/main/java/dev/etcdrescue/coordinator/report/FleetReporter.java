package dev.etcdrescue.coordinator.report;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Output of a rollout over several clusters. Each cluster gets its own reporter whose lines carry
 * the cluster's name and never mix mid-line with another's; the rollout's own lines (batches, a
 * stop) come between them, and at the end a fleet recap ({@code -w table}) or one JSON document
 * ({@code -w json}, progress on stderr). With a single cluster it is the plain one-cluster output,
 * unchanged: no prefixes, no fleet recap, the cluster's own report as the JSON document.
 */
public final class FleetReporter {
    private final PrintStream out;
    private final PrintStream progress;
    private final boolean json;
    private final boolean terminal;
    private final List<String> clusters;
    private final int width;
    private final Object lock = new Object();

    private FleetReporter(PrintStream out, PrintStream progress, boolean json, boolean terminal, List<String> clusters) {
        this.out = out;
        this.progress = progress;
        this.json = json;
        this.terminal = terminal;
        this.clusters = List.copyOf(clusters);
        this.width = clusters.stream().mapToInt(String::length).max().orElse(0);
    }

    /** {@code -w table}: everything on {@code out}; {@code terminal} enables progress bars for a single cluster. */
    public static FleetReporter text(PrintStream out, boolean terminal, List<String> clusters) {
        return new FleetReporter(out, out, false, terminal, clusters);
    }

    /** {@code -w json}: the document on {@code out}, what happens on the way on {@code err}. */
    public static FleetReporter json(PrintStream out, PrintStream err, List<String> clusters) {
        return new FleetReporter(out, err, true, false, clusters);
    }

    private boolean single() {
        return clusters.size() == 1;
    }

    /** The reporter for one cluster's recovery. */
    public Reporter forCluster(String cluster) {
        if (single()) {
            return json ? new JsonReporter(out, progress) : new TextReporter(out, terminal);
        }
        // No progress bars: several clusters' bars would fight over the terminal's last line.
        PrintStream lines = LinePrefixer.printStream(progress, prefix(cluster));
        return new SerializedReporter(new TextReporter(lines, false), lock);
    }

    private String prefix(String cluster) {
        return String.format("%-" + width + "s | ", cluster);
    }

    public void rolloutStarted(int batches, int serial, int maxFailPercentage) {
        if (single()) {
            return;
        }
        line(String.format("ROLLOUT %d clusters in %d batch%s of up to %d (--max-fail-percentage %d): %s",
                clusters.size(), batches, batches == 1 ? "" : "es", serial, maxFailPercentage, String.join(", ", clusters)));
    }

    public void batchStarted(int batch, int batches, List<String> names) {
        if (single()) {
            return;
        }
        line(String.format("%nBATCH %d of %d: %s", batch, batches, String.join(", ", names)));
    }

    public void stopped(int batch, String reason, List<String> notStarted) {
        if (single()) {
            return;
        }
        line(String.format("%nROLLOUT STOPPED after batch %d: %s; not started: %s", batch, reason, String.join(", ", notStarted)));
    }

    private void line(String text) {
        synchronized (lock) {
            progress.println(text);
            progress.flush();
        }
    }

    /** The fleet recap, or the JSON document. Nothing more for a single cluster: its own report said it all. */
    public void finished(FleetReport report) {
        if (single()) {
            return;
        }
        synchronized (lock) {
            if (json) {
                try {
                    out.println(JsonReporter.mapper().writeValueAsString(report));
                } catch (Exception e) {
                    throw new IllegalStateException("cannot write the JSON report", e);
                }
            } else {
                printRecap(report);
            }
            out.flush();
        }
    }

    private void printRecap(FleetReport report) {
        Map<String, RecoveryReport> ran = new LinkedHashMap<>();
        report.clusters().forEach(r -> ran.put(r.cluster(), r));
        out.printf("%nFLEET RECAP **************************************************************%n");
        int recovered = 0;
        int failed = 0;
        for (String cluster : clusters) {
            RecoveryReport r = ran.get(cluster);
            String state;
            if (r == null) {
                state = report.notStarted().contains(cluster) ? "not started" : "not selected";
            } else if (r.success()) {
                state = "recovered";
                recovered++;
            } else {
                state = "failed (exit " + r.exitCode() + ")";
                failed++;
            }
            String line = String.format("%-" + width + "s : %-16s%s", cluster, state,
                    r == null || r.workDir() == null ? "" : "  work dir: " + r.workDir());
            out.println(line.stripTrailing());
            if (r != null && !r.success() && r.message() != null) {
                // The whole message: it names the failed hosts and how to undo or resume.
                r.message().lines().forEach(m -> out.printf("%-" + width + "s   %s%n", "", m));
            }
        }
        if (report.stoppedAfterBatch() != null) {
            out.printf("rollout stopped after batch %d%n", report.stoppedAfterBatch());
        }
        String counts = recovered + " of " + clusters.size() + " clusters recovered, " + failed + " failed, "
                + report.notStarted().size() + " not started";
        out.printf("%n%s%n", report.allRecovered() ? "FLEET RECOVERED: " + counts : "FLEET FAILED: " + counts);
    }
}
