package dev.etcdrescue.agent.io;

import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Tree operations through directory handles (openat/fchownat/unlinkat on Linux), for trees that a
 * less privileged user can rename things in. Working by path, each call resolves every component
 * afresh, so a directory swapped for a link between two calls sends root outside the tree; here each
 * step is relative to a directory already opened, and no link is ever followed.
 */
public final class DirHandles {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

    private DirHandles() {}

    /** Opens {@code dir} (reached by path, as configured) as a handle that later steps work relative to. */
    public static SecureDirectoryStream<Path> open(Path dir) throws IOException {
        DirectoryStream<Path> stream = Files.newDirectoryStream(dir);
        if (stream instanceof SecureDirectoryStream<Path> secure) {
            return secure;
        }
        stream.close();
        throw new IOException("this platform has no directory handles (SecureDirectoryStream) to work in " + dir);
    }

    /**
     * Opens {@code relative} below {@code root}: the root by path, then every component through the
     * handle of the one before, refusing links.
     */
    public static SecureDirectoryStream<Path> openBelow(Path root, Path relative) throws IOException {
        SecureDirectoryStream<Path> dir = open(root);
        if (relative.toString().isEmpty()) {
            return dir;
        }
        for (Path name : relative) {
            try (SecureDirectoryStream<Path> parent = dir) {
                dir = parent.newDirectoryStream(name, NOFOLLOW);
            }
        }
        return dir;
    }

    /**
     * Opens the regular file {@code name} in {@code dir} for reading. A link is refused (O_NOFOLLOW);
     * so is anything but a regular file, examined before the open (opening a fifo would block) and
     * again after it, so a file swapped in between is refused too.
     */
    public static SeekableByteChannel openRegularFile(SecureDirectoryStream<Path> dir, Path name) throws IOException {
        PosixFileAttributes before = attributes(dir, name);
        if (!before.isRegularFile()) {
            throw new FileSystemException(name.toString(), null, "not a regular file");
        }
        SeekableByteChannel channel = dir.newByteChannel(name, Set.of(StandardOpenOption.READ, NOFOLLOW));
        if (!before.fileKey().equals(attributes(dir, name).fileKey())) {
            channel.close();
            throw new FileSystemException(name.toString(), null, "was replaced while being opened");
        }
        return channel;
    }

    /**
     * Gives the tree {@code name} in {@code parent} to {@code owner}, children first and the top
     * last, so the new owner never holds a directory that is still being walked; the top gets
     * {@code topMode}. Every directory must belong to {@code expectedOwner} and be writable by it
     * alone (what a restore run by this process creates): a tree someone else built or can change
     * is refused. Links, fifos, sockets and devices are refused, never followed or opened.
     */
    public static void handOver(SecureDirectoryStream<Path> parent, Path name, UserPrincipal expectedOwner,
                                UserPrincipal owner, GroupPrincipal group, Set<PosixFilePermission> topMode)
            throws IOException {
        PosixFileAttributes attrs = attributes(parent, name);
        if (!attrs.isDirectory()) {
            throw new FileSystemException(name.toString(), null, "not a directory");
        }
        try (SecureDirectoryStream<Path> top = openDirectory(parent, name, attrs, expectedOwner)) {
            handOverContents(top, expectedOwner, owner, group);
            PosixFileAttributeView view = top.getFileAttributeView(PosixFileAttributeView.class);
            view.setPermissions(topMode);
            setOwners(view, owner, group);
        }
    }

    /** Deletes the tree {@code name} in {@code parent}, children first; links are removed, not followed. */
    public static void deleteTree(SecureDirectoryStream<Path> parent, Path name) throws IOException {
        PosixFileAttributes attrs = attributes(parent, name);
        if (attrs.isDirectory()) {
            try (SecureDirectoryStream<Path> dir = openDirectory(parent, name, attrs, null)) {
                for (Path child : names(dir)) {
                    deleteTree(dir, child);
                }
            }
            parent.deleteDirectory(name);
        } else {
            parent.deleteFile(name);
        }
    }

    /** The attributes of {@code name} itself (a link's own, never its target's). */
    public static PosixFileAttributes attributes(SecureDirectoryStream<Path> dir, Path name) throws IOException {
        return dir.getFileAttributeView(name, PosixFileAttributeView.class, NOFOLLOW).readAttributes();
    }

    private static void handOverContents(SecureDirectoryStream<Path> dir, UserPrincipal expectedOwner,
                                         UserPrincipal owner, GroupPrincipal group) throws IOException {
        for (Path name : names(dir)) {
            PosixFileAttributes attrs = attributes(dir, name);
            if (attrs.isDirectory()) {
                try (SecureDirectoryStream<Path> child = openDirectory(dir, name, attrs, expectedOwner)) {
                    handOverContents(child, expectedOwner, owner, group);
                    setOwners(child.getFileAttributeView(PosixFileAttributeView.class), owner, group);
                }
            } else if (attrs.isRegularFile()) {
                // Opens the name with O_NOFOLLOW and fchowns what it opened; the directory is still ours.
                setOwners(dir.getFileAttributeView(name, PosixFileAttributeView.class, NOFOLLOW), owner, group);
            } else {
                throw new FileSystemException(name.toString(), null,
                        "neither a regular file nor a directory (a link, fifo, socket or device) in a restored tree");
            }
        }
    }

    /**
     * Opens a subdirectory without following a link, and checks that what was opened is what was
     * examined, and (when {@code expectedOwner} is given) that nobody else can change it.
     */
    private static SecureDirectoryStream<Path> openDirectory(SecureDirectoryStream<Path> parent, Path name,
                                                             PosixFileAttributes examined, UserPrincipal expectedOwner)
            throws IOException {
        SecureDirectoryStream<Path> dir = parent.newDirectoryStream(name, NOFOLLOW);
        try {
            PosixFileAttributes opened = dir.getFileAttributeView(PosixFileAttributeView.class).readAttributes();
            if (!opened.fileKey().equals(examined.fileKey())) {
                throw new FileSystemException(name.toString(), null, "was replaced while being opened");
            }
            if (expectedOwner != null) {
                requireOnlyOwnerWrites(name, opened, expectedOwner);
            }
            return dir;
        } catch (IOException | RuntimeException e) {
            dir.close();
            throw e;
        }
    }

    private static void requireOnlyOwnerWrites(Path name, PosixFileAttributes attrs, UserPrincipal expectedOwner)
            throws FileSystemException {
        Set<PosixFilePermission> mode = attrs.permissions();
        if (!attrs.owner().equals(expectedOwner) || mode.contains(PosixFilePermission.GROUP_WRITE)
                || mode.contains(PosixFilePermission.OTHERS_WRITE)) {
            throw new FileSystemException(name.toString(), null, "belongs to " + attrs.owner().getName()
                    + " or is writable by others, not a tree created by " + expectedOwner.getName());
        }
    }

    private static void setOwners(PosixFileAttributeView view, UserPrincipal owner, GroupPrincipal group)
            throws IOException {
        view.setOwner(owner);
        if (group != null) {
            view.setGroup(group);
        }
    }

    /** The entries' names, read before anything is changed in the directory. */
    private static List<Path> names(SecureDirectoryStream<Path> dir) {
        List<Path> names = new ArrayList<>();
        for (Path entry : dir) {
            names.add(entry.getFileName());
        }
        return names;
    }
}
