package dev.etcdrescue.coordinator.files;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Files only the operator may read: snapshots hold every key of the cluster (every Kubernetes
 * Secret), so they are created 0600 in 0700 directories, whatever the umask, and never written
 * through a link someone planted at their name.
 */
public final class PrivateFiles {
    public static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");
    public static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
    private static final FileAttribute<Set<PosixFilePermission>> FILE = PosixFilePermissions.asFileAttribute(FILE_MODE);
    private static final FileAttribute<Set<PosixFilePermission>> DIR = PosixFilePermissions.asFileAttribute(DIR_MODE);

    private PrivateFiles() {}

    /** Creates {@code dir} and its missing parents 0700; directories that already exist are left as they are. */
    public static Path createDirectories(Path dir) throws IOException {
        return Files.createDirectories(dir, DIR);
    }

    /**
     * Opens a new file 0600 for writing. Whatever stood at the name (a partial file from an earlier
     * attempt, or a link) is removed first, the link itself and never its target; if something
     * appears there again before the file is created, the open fails (O_CREAT|O_EXCL).
     */
    public static FileChannel replaceWithNew(Path file) throws IOException {
        Files.deleteIfExists(file);
        return FileChannel.open(file, Set.<OpenOption>of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS), FILE);
    }

    /** Opens {@code file} for appending, creating it 0600; a link at its name is refused (O_NOFOLLOW). */
    public static FileChannel append(Path file) throws IOException {
        return FileChannel.open(file, Set.<OpenOption>of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND, LinkOption.NOFOLLOW_LINKS), FILE);
    }

    /** Writes {@code content} to a new 0600 file next to {@code target}, then renames it over {@code target}. */
    public static void writeAtomically(Path target, byte[] content) throws IOException {
        Path temp = target.resolveSibling("." + target.getFileName() + ".tmp-" + ProcessHandle.current().pid()
                + "-" + System.nanoTime());
        try {
            try (FileChannel channel = replaceWithNew(temp)) {
                ByteBuffer bytes = ByteBuffer.wrap(content);
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
                channel.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
    }
}
