package dev.etcdrescue.agent.restore;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.io.DirHandles;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.Optional;

/**
 * Hands a restored tree to the unit's service user (etcd refuses to start, or cannot write, when
 * its data dir belongs to root) and closes the data dir to others (mode 0700, as etcd expects).
 *
 * <p>The tree lies in a directory the service user can write (Debian's /var/lib/etcd is its home),
 * so that user may swap parts of it for links while root works on it. The hand-over therefore goes
 * through directory handles, never follows a link, and gives away each directory only after its
 * contents ({@link DirHandles#handOver}); a tree not made by this process is refused.
 */
public final class DataDirOwner {
    private DataDirOwner() {}

    public static void handOver(Path root, String user, Optional<String> group) throws IOException {
        FileSystem fs = root.getFileSystem();
        UserPrincipal owner;
        try {
            owner = fs.getUserPrincipalLookupService().lookupPrincipalByName(user);
        } catch (UserPrincipalNotFoundException e) {
            throw AgentException.failedPrecondition("the base unit's User=" + user
                    + " does not exist on this host: create the user or fix the unit");
        }
        GroupPrincipal ownerGroup = lookupGroup(fs, group.orElse(user), group.isPresent());
        UserPrincipal self = fs.getUserPrincipalLookupService().lookupPrincipalByName(System.getProperty("user.name"));
        try (SecureDirectoryStream<Path> parent = DirHandles.open(root.getParent())) {
            DirHandles.handOver(parent, root.getFileName(), self, owner, ownerGroup,
                    PosixFilePermissions.fromString("rwx------"));
        } catch (FileSystemException e) {
            throw AgentException.failedPrecondition("the restored tree " + root + " cannot be handed to " + user
                    + ": " + e.getMessage() + "; the tree is left as it is (was it changed by someone else after the restore?)");
        }
    }

    private static GroupPrincipal lookupGroup(FileSystem fs, String name, boolean required) throws IOException {
        try {
            return fs.getUserPrincipalLookupService().lookupPrincipalByGroupName(name);
        } catch (UserPrincipalNotFoundException e) {
            if (required) {
                throw AgentException.failedPrecondition("the base unit's Group=" + name + " does not exist on this host");
            }
            // No group named after the user: keep the group the tool created the files with.
            return null;
        }
    }
}
