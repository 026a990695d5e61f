package dev.etcdrescue.systemtest.testbed;

import java.util.List;

/** What a command run inside a host left: its exit code and output. */
public record ExecResult(List<String> argv, int exitCode, String stdout, String stderr) {
    /** Exit code of {@code timeout} when the command ran out of time inside the host. */
    public static final int TIMED_OUT = 124;

    public boolean ok() {
        return exitCode == 0;
    }

    /** This result if the command succeeded, otherwise an {@link IllegalStateException} with its output. */
    public ExecResult requireOk() {
        if (!ok()) {
            throw new IllegalStateException(describe());
        }
        return this;
    }

    public String describe() {
        return String.join(" ", argv) + " -> exit " + exitCode
                + (exitCode == TIMED_OUT ? " (timed out)" : "")
                + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
    }
}
