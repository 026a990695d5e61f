package dev.etcdrescue.agent.transfer;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.io.DirHandles;
import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;

/**
 * Opens a file inside a backup dir for DownloadSnapshot. The path check resolves links at check
 * time, but a backup dir may be writable by the etcd user (backups taken by its own cron), who can
 * swap the file for a link afterwards; so the file is opened from its root down through directory
 * handles, refusing any link on the way.
 */
final class BackupFile {
    private BackupFile() {}

    /** {@code file} must lie strictly inside {@code root} (as checked by the backup dirs' PathRules). */
    static SeekableByteChannel open(Path root, Path file) {
        try (SecureDirectoryStream<Path> dir = DirHandles.openBelow(root, root.relativize(file.getParent()))) {
            return DirHandles.openRegularFile(dir, file.getFileName());
        } catch (FileSystemException e) {
            throw AgentException.failedPrecondition("path " + file + " is not a regular file reached without"
                    + " symbolic links inside " + root + ": " + e.getMessage());
        } catch (IOException e) {
            throw AgentException.failedPrecondition("cannot read " + file + ": " + e.getMessage());
        }
    }
}
