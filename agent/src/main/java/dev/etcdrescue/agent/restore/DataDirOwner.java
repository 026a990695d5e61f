package dev.etcdrescue.agent.restore;

import dev.etcdrescue.agent.AgentException;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.Optional;

/**
 * Hands a restored tree to the unit's service user (etcd refuses to start, or cannot write, when
 * its data dir belongs to root) and closes the data dir to others (mode 0700, as etcd expects).
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
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                chown(dir);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                chown(file);
                return FileVisitResult.CONTINUE;
            }

            private void chown(Path path) throws IOException {
                PosixFileAttributeView view = Files.getFileAttributeView(path, PosixFileAttributeView.class,
                        LinkOption.NOFOLLOW_LINKS);
                view.setOwner(owner);
                if (ownerGroup != null) {
                    view.setGroup(ownerGroup);
                }
            }
        });
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx------"));
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
