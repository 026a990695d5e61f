package dev.etcdrescue.coordinator.report;

import java.time.Duration;

/**
 * One cluster's reporter among several sharing an output: every call holds the fleet's lock, so a
 * multi-line block (a cluster's recap) is printed whole, never cut by another cluster's lines.
 */
final class SerializedReporter implements Reporter {
    private final Reporter delegate;
    private final Object lock;

    SerializedReporter(Reporter delegate, Object lock) {
        this.delegate = delegate;
        this.lock = lock;
    }

    @Override
    public void runStarted(String cluster, String operationId, String workDir) {
        synchronized (lock) {
            delegate.runStarted(cluster, operationId, workDir);
        }
    }

    @Override
    public void phaseStarted(PhaseName phase) {
        synchronized (lock) {
            delegate.phaseStarted(phase);
        }
    }

    @Override
    public void hostResult(HostResult result) {
        synchronized (lock) {
            delegate.hostResult(result);
        }
    }

    @Override
    public void note(PhaseName phase, String message) {
        synchronized (lock) {
            delegate.note(phase, message);
        }
    }

    @Override
    public void transferProgress(String host, long bytes, long total) {
        synchronized (lock) {
            delegate.transferProgress(host, bytes, total);
        }
    }

    @Override
    public void phaseFinished(PhaseName phase, Duration took, boolean ok) {
        synchronized (lock) {
            delegate.phaseFinished(phase, took, ok);
        }
    }

    @Override
    public void runFinished(RecoveryReport report) {
        synchronized (lock) {
            delegate.runFinished(report);
        }
    }
}
