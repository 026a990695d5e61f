package dev.etcdrescue.agent.staging;

import dev.etcdrescue.agent.spec.Grammar;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code <state_dir>/staging}: the only place the transfer code writes. Per transfer id: {@code .part}
 * while receiving, {@code .json} with what BeginTransfer announced, {@code .db} once verified.
 */
public final class StagingArea {
    private final Path dir;

    public StagingArea(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    public Path ensureDir() throws IOException {
        Files.createDirectories(dir);
        return dir;
    }

    public Path partFile(String transferId) {
        return dir.resolve(checked(transferId) + ".part");
    }

    public Path stagedFile(String transferId) {
        return dir.resolve(checked(transferId) + ".db");
    }

    public Path announcementFile(String transferId) {
        return dir.resolve(checked(transferId) + ".json");
    }

    private static String checked(String transferId) {
        return Grammar.identifier(transferId, "transfer_id");
    }
}
