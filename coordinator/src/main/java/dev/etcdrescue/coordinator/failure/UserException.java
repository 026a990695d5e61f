package dev.etcdrescue.coordinator.failure;

/**
 * An error the operator can fix (bad input, a refused precondition, a failed step). Printed as one
 * message, never as a stack trace; the CLI maps its {@link FailureKind} to an exit code.
 */
public class UserException extends RuntimeException {
    private final FailureKind kind;

    public UserException(FailureKind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public UserException(FailureKind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public FailureKind kind() {
        return kind;
    }
}
