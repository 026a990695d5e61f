package dev.etcdrescue.agent.oldmember;

import java.nio.file.Path;

/** Where a directive or a setting was read: a file and the line it starts on, shown as {@code file:line}. */
public record Source(Path file, int line) {
    @Override
    public String toString() {
        return file + ":" + line;
    }
}
