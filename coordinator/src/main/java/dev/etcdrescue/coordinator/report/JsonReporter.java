package dev.etcdrescue.coordinator.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintStream;
import java.time.Duration;

/**
 * {@code -w json}: the report as one JSON document on stdout when the run ends; what happens on
 * the way goes to {@code progress} (stderr) as plain lines, so stdout stays parseable.
 */
public final class JsonReporter implements Reporter {
    private final PrintStream stdout;
    private final TextReporter progress;

    public JsonReporter(PrintStream stdout, PrintStream stderr) {
        this.stdout = stdout;
        this.progress = new TextReporter(stderr, false);
    }

    public static ObjectMapper mapper() {
        return new ObjectMapper().findAndRegisterModules().enable(SerializationFeature.INDENT_OUTPUT)
                .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS);
    }

    @Override
    public void runStarted(String cluster, String operationId, String workDir) {
        progress.runStarted(cluster, operationId, workDir);
    }

    @Override
    public void phaseStarted(PhaseName phase) {
        progress.phaseStarted(phase);
    }

    @Override
    public void hostResult(HostResult result) {
        progress.hostResult(result);
    }

    @Override
    public void note(PhaseName phase, String message) {
        progress.note(phase, message);
    }

    @Override
    public void transferProgress(String host, long bytes, long total) {
        progress.transferProgress(host, bytes, total);
    }

    @Override
    public void phaseFinished(PhaseName phase, Duration took, boolean ok) {
        progress.phaseFinished(phase, took, ok);
    }

    @Override
    public void runFinished(RecoveryReport report) {
        try {
            stdout.println(mapper().writeValueAsString(report));
        } catch (Exception e) {
            throw new IllegalStateException("cannot write the JSON report", e);
        }
    }
}
