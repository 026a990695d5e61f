package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.report.PhaseName;

/** A phase failed on at least one host; the run stops there. */
public final class PhaseFailedException extends UserException {
    private final PhaseName phase;

    public PhaseFailedException(PhaseName phase, FailureKind kind, String message) {
        super(kind, message);
        this.phase = phase;
    }

    public PhaseName phase() {
        return phase;
    }
}
