package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.UserException;

/** A phase failed on at least one host; the run stops there. */
public final class PhaseFailedException extends UserException {
    private final PhaseName phase;

    public PhaseFailedException(PhaseName phase, int exitCode, String message) {
        super(exitCode, message);
        this.phase = phase;
    }

    public PhaseName phase() {
        return phase;
    }
}
