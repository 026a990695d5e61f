package dev.etcdrescue.agent.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * File operations that survive a crash and never destroy what was there: temp + fsync + rename,
 * directory fsync after renames, and "move aside" instead of delete or overwrite.
 */
public final class SafeFiles {
    private SafeFiles() {}

    /** Writes {@code content} to {@code target} atomically; the target must not be a directory. */
    public static void writeAtomically(Path target, String content, String permissions) throws IOException {
        Path dir = target.getParent();
        Path temp = dir.resolve("." + target.getFileName() + ".tmp-" + ProcessHandle.current().pid()
                + "-" + System.nanoTime());
        Set<PosixFilePermission> mode = PosixFilePermissions.fromString(permissions);
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer bytes = ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8));
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
            channel.force(true);
        }
        try {
            Files.setPosixFilePermissions(temp, mode);
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
        fsyncDirectory(dir);
    }

    public static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    /** {@code path + suffix}, or {@code path + suffix + ".N"} when that is taken, in the same directory. */
    public static Path freeName(Path path, String suffix) throws IOException {
        Path dir = path.getParent();
        String base = path.getFileName() + suffix;
        for (int attempt = 0; attempt < 1000; attempt++) {
            Path candidate = dir.resolve(attempt == 0 ? base : base + "." + attempt);
            if (!exists(candidate)) {
                return candidate;
            }
        }
        throw new IOException("no free name to move " + path + " aside with suffix " + suffix);
    }

    /** Moves {@code path} aside to a free name with {@code suffix} and returns where it went. */
    public static Path moveAside(Path path, String suffix) throws IOException {
        Path target = freeName(path, suffix);
        moveNoReplace(path, target);
        return target;
    }

    /**
     * Renames {@code from} to {@code to} atomically, refusing to replace anything at {@code to}
     * (rename(2) would replace a file silently), then fsyncs the directories.
     */
    public static void moveNoReplace(Path from, Path to) throws IOException {
        if (exists(to)) {
            throw new FileAlreadyExistsException(to.toString());
        }
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        fsyncDirectory(to.getParent());
        if (!from.getParent().equals(to.getParent())) {
            fsyncDirectory(from.getParent());
        }
    }

    public static boolean exists(Path path) {
        return Files.exists(path, LinkOption.NOFOLLOW_LINKS);
    }
}
