package dev.etcdrescue.coordinator.report;

import java.io.PrintStream;
import java.time.Duration;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Human output: one line per host and phase, progress bars for transfers on a terminal (plain
 * lines every 25% otherwise), and a recap table in the manner of Ansible's PLAY RECAP.
 */
public final class TextReporter implements Reporter {
    private final PrintStream out;
    private final boolean terminal;
    private final Map<String, ProgressBar> bars = new ConcurrentHashMap<>();
    private final Map<String, Integer> lastQuarter = new ConcurrentHashMap<>();

    public TextReporter(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    @Override
    public synchronized void runStarted(String cluster, String operationId, String workDir) {
        out.printf("RECOVER cluster %s  operation %s%n  work dir: %s%n", cluster, operationId, workDir);
    }

    @Override
    public synchronized void phaseStarted(PhaseName phase) {
        out.printf("%nPHASE [%s] %s%n", phase.label(), "*".repeat(Math.max(3, 60 - phase.label().length())));
    }

    @Override
    public synchronized void hostResult(HostResult r) {
        closeBar(r.host());
        out.printf("%-8s %-24s %s%n", r.outcome().label() + ":", "[" + r.host() + "]", r.message());
    }

    @Override
    public synchronized void note(PhaseName phase, String message) {
        out.printf("  %s%n", message);
    }

    @Override
    public void transferProgress(String host, long bytes, long total) {
        if (terminal) {
            ProgressBar bar = bars.computeIfAbsent(host, h -> new ProgressBarBuilder()
                    .setTaskName(h).setInitialMax(Math.max(total, 1)).setUnit("MiB", 1 << 20)
                    .setStyle(ProgressBarStyle.ASCII).continuousUpdate().build());
            bar.stepTo(bytes);
            return;
        }
        int quarter = total <= 0 ? 4 : (int) (bytes * 4 / total);
        Integer before = lastQuarter.put(host, quarter);
        if (before == null || before != quarter) {
            synchronized (this) {
                out.printf("  ... [%s] %d/%d bytes (%d%%)%n", host, bytes, total, total <= 0 ? 100 : bytes * 100 / total);
            }
        }
    }

    private void closeBar(String host) {
        ProgressBar bar = bars.remove(host);
        if (bar != null) {
            bar.close();
        }
    }

    @Override
    public synchronized void phaseFinished(PhaseName phase, Duration took, boolean ok) {
        bars.keySet().forEach(this::closeBar);
        out.printf("  %s %s in %.1fs%n", phase.label(), ok ? "done" : "FAILED", took.toMillis() / 1000.0);
    }

    @Override
    public synchronized void runFinished(RecoveryReport report) {
        if (!report.checks().isEmpty()) {
            out.printf("%nVERIFY%n");
            for (RecoveryReport.Check c : report.checks()) {
                out.printf("  %-4s %-28s %s%n", c.ok() ? "ok" : "FAIL", c.name(), c.detail());
            }
        }
        out.printf("%nRECAP ********************************************************************%n");
        Map<String, Map<Outcome, Integer>> counts = new LinkedHashMap<>();
        for (HostResult r : report.results()) {
            counts.computeIfAbsent(r.host(), h -> new EnumMap<>(Outcome.class)).merge(r.outcome(), 1, Integer::sum);
        }
        counts.forEach((host, c) -> out.printf("%-26s : ok=%-3d changed=%-3d failed=%-3d skipped=%-3d%n", host,
                c.getOrDefault(Outcome.OK, 0), c.getOrDefault(Outcome.CHANGED, 0),
                c.getOrDefault(Outcome.FAILED, 0), c.getOrDefault(Outcome.SKIPPED, 0)));
        StringBuilder phases = new StringBuilder();
        report.phaseMillis().forEach((p, ms) -> phases.append(String.format(Locale.ROOT, " %s=%.1fs", p, ms / 1000.0)));
        out.printf("phases:%s%n", phases);
        if (report.newClientEndpoints() != null && report.success()) {
            out.printf("%nClients must now use: %s%n", report.newClientEndpoints());
        }
        out.printf("%n%s%n", report.success() ? "RECOVERED: " + report.message() : "FAILED: " + report.message());
        if (report.snapshot() != null && report.snapshot().retention() != null) {
            out.printf("snapshot: %s%n", report.snapshot().retention());
        }
        out.printf("report: %s/report.json%n", report.workDir());
    }
}
