package dev.etcdrescue.coordinator.report;

import java.time.Duration;

/** What one phase did on one host ({@code host} is "-" for cluster-wide phases). */
public record HostResult(String host, PhaseName phase, Outcome outcome, String message, Duration took) {
    public boolean failed() {
        return outcome == Outcome.FAILED;
    }
}
