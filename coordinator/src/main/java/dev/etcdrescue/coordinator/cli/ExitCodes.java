package dev.etcdrescue.coordinator.cli;

/** Exit codes scripts can rely on; the README lists them. */
public final class ExitCodes {
    private ExitCodes() {}

    /** The command did what it was asked; for recover: verify passed. */
    public static final int OK = 0;
    /** Something failed while acting (a phase failed on a host, verify failed). */
    public static final int FAILED = 1;
    /** Bad input: command line, inventory, files. Nothing was touched. */
    public static final int USAGE = 2;
    /** Preflight refused: nothing was touched on any host. */
    public static final int PREFLIGHT_REFUSED = 3;
    /** Verify ran and found the restored cluster not as planned. */
    public static final int VERIFY_FAILED = 4;
    /** An unexpected internal error (a bug): the message and the log say where. */
    public static final int INTERNAL = 70;
}
