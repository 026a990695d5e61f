package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.failure.FailureKind;

/** Exit codes scripts can rely on; the README lists them. The one place a failure kind becomes a number. */
public final class ExitCodes {
    private ExitCodes() {}

    /** The command did what it was asked; for recover: verify passed. */
    public static final int OK = 0;
    /** A step failed while acting (a phase failed on a host). */
    public static final int FAILED = 1;
    /** Bad input: command line, inventory, files. Nothing was touched. */
    public static final int USAGE = 2;
    /** Preflight refused: nothing was touched on any host. */
    public static final int PREFLIGHT_REFUSED = 3;
    /** Verify ran and found the restored cluster not as planned. */
    public static final int VERIFY_FAILED = 4;
    /** doctor: a member is down and quorum holds without it: replace-member fits (the output names the member). */
    public static final int DOCTOR_REPLACE_MEMBER = 10;
    /** doctor: something needs a person (a learner left listed, an alarm, a loss no command repairs safely). */
    public static final int DOCTOR_ATTENTION = 11;
    /** doctor: quorum is lost: recover fits. */
    public static final int DOCTOR_RECOVER = 12;
    /** An unexpected internal error (a bug): the message and the log say where. */
    public static final int INTERNAL = 70;

    public static int of(FailureKind kind) {
        return switch (kind) {
            case BAD_INPUT -> USAGE;
            case REFUSED -> PREFLIGHT_REFUSED;
            case PHASE_FAILED -> FAILED;
            case VERIFY_FAILED -> VERIFY_FAILED;
            case INTERNAL -> INTERNAL;
        };
    }
}
