package dev.etcdrescue.coordinator.failure;

/**
 * What went wrong, as the layer that found it knows it. Only the CLI turns a kind into a process exit
 * code ({@code cli.ExitCodes}), so no lower layer chooses one.
 */
public enum FailureKind {
    /** The command line, the inventory or a file cannot be used; nothing was touched. */
    BAD_INPUT,
    /** Refused before any host was changed: preflight, or a snapshot that fails its checks. */
    REFUSED,
    /** A step failed while acting on a host or an endpoint (a phase, a snapshot, a download). */
    PHASE_FAILED,
    /** Verify ran and found the running cluster not as planned. */
    VERIFY_FAILED,
    /** An unexpected error: a bug. */
    INTERNAL
}
