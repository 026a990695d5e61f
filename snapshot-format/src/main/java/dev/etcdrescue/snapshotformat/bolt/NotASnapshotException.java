package dev.etcdrescue.snapshotformat.bolt;

import java.io.IOException;
import java.nio.file.Path;

/** The file is not an intact etcd v3 snapshot: not bbolt at all, truncated, or corrupt. {@link #reason()} says which. */
public final class NotASnapshotException extends IOException {
    private final Path file;
    private final String reason;

    NotASnapshotException(Path file, String reason) {
        super(file + ": " + reason);
        this.file = file;
        this.reason = reason;
    }

    public Path file() {
        return file;
    }

    /** What is wrong, without the file name, e.g. {@code "not a bbolt file: bad magic at page 0 (...)"}. */
    public String reason() {
        return reason;
    }
}
