package dev.etcdrescue.coordinator;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * A file error in the words of the shell, for messages an operator reads: the JDK's exceptions say
 * "java.nio.file.AccessDeniedException: /etc/x" where ls would say "permission denied".
 */
public final class IoErrors {
    private IoErrors() {}

    /** "permission denied: /etc/x", "no such file or directory: /etc/x", "No space left on device: /x", ... */
    public static String describe(IOException e) {
        if (e instanceof FileSystemException fs) {
            String what = what(fs);
            String reason = what != null ? what : fs.getReason() != null ? fs.getReason() : "failed";
            String file = fs.getFile() == null ? "" : ": " + fs.getFile();
            String other = fs.getOtherFile() == null ? "" : " -> " + fs.getOtherFile();
            return reason + file + other;
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private static String what(FileSystemException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        } else if (e instanceof AccessDeniedException) {
            return "permission denied";
        } else if (e instanceof FileAlreadyExistsException) {
            return "already exists";
        } else if (e instanceof NotDirectoryException) {
            return "not a directory";
        } else if (e instanceof DirectoryNotEmptyException) {
            return "directory not empty";
        }
        return null;
    }
}
