package dev.etcdrescue.coordinator;

/**
 * An error the operator can fix (bad input, a refused precondition). Printed as one message,
 * never as a stack trace, and mapped to {@code exitCode}.
 */
public class UserException extends RuntimeException {
    private final int exitCode;

    public UserException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public UserException(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
