package dev.etcdrescue.agent.backup;

import dev.etcdrescue.agent.io.SafeFiles;
import dev.etcdrescue.pki.SigningIdentity;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * A peer's copy of a backup while it arrives: written under a temporary name and hashed as it comes, never
 * beyond the size its signed manifest names; at the end its size and SHA-256 must be the manifest's, it is
 * fsynced, renamed into place, read back whole, and only then does the holder's manifest complete it.
 */
public final class IncomingCopy implements AutoCloseable {
    private final BackupStore store;
    private final BackupManifest original;
    private final Path part;
    private final Path data;
    private final FileChannel out;
    private final MessageDigest sha256 = SnapshotDigest.newSha256();
    private long written;
    private boolean finished;

    IncomingCopy(BackupStore store, BackupManifest original, Path part, Path data) throws IOException {
        this.store = store;
        this.original = original;
        this.part = part;
        this.data = data;
        this.out = FileChannel.open(part, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    }

    public BackupManifest original() {
        return original;
    }

    public void write(ByteBuffer bytes) throws IOException {
        if (written + bytes.remaining() > original.fileSize()) {
            throw new IOException("more than the " + original.fileSize() + " bytes the manifest of " + original.id() + " names");
        }
        sha256.update(bytes.duplicate());
        written += bytes.remaining();
        while (bytes.hasRemaining()) {
            out.write(bytes);
        }
    }

    /** Checks what arrived, puts it in place and writes the holder's manifest naming {@code fromHost} and {@code at}. */
    public BackupManifest finish(SigningIdentity holder, String fromHost, String at) throws IOException {
        out.force(true);
        out.close();
        String hex = HexFormat.of().formatHex(sha256.digest());
        if (written != original.fileSize() || !hex.equals(original.fileSha256())) {
            throw new IOException("the copy of " + original.id() + " arrived with " + written + " bytes and SHA-256 " + hex
                    + "; its manifest says " + original.fileSize() + " bytes, " + original.fileSha256());
        }
        SafeFiles.moveNoReplace(part, data);
        finished = true;
        return store.completeCopy(original, data, holder, fromHost, at);
    }

    /** Removes what arrived of an unfinished copy; nothing once it is finished. */
    @Override
    public void close() throws IOException {
        if (out.isOpen()) {
            out.close();
        }
        if (!finished) {
            Files.deleteIfExists(part);
        }
    }
}
