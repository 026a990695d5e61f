package dev.etcdrescue.coordinator.snapshot;

import dev.etcdrescue.snapshotformat.SnapshotDigest;
import dev.etcdrescue.snapshotformat.SnapshotDigest.Trailer;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A snapshot file as the coordinator checked it: its size, its SHA-256 and etcd's hash trailer
 * ({@link SnapshotDigest} says what that is; the agents check what they receive with the same code).
 * A raw {@code member/snap/db} copied from a dead member has no trailer and can only be restored with
 * {@code --skip-hash-check}.
 *
 * @param sha256 digest of the whole file, as the agents must report it after the transfer
 * @param trailer {@link Trailer#VALID} when the etcd trailer is present and matches the content
 */
public record SnapshotFile(Path path, long size, String sha256, Trailer trailer) {

    public static SnapshotFile inspect(Path path) throws IOException {
        SnapshotDigest digest = new SnapshotDigest();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(path)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                digest.update(buf, 0, n);
            }
        }
        return of(path, digest);
    }

    /**
     * Writes a snapshot to {@code out} while checking it, so a file just received needs no second
     * read: {@link Checked#result(Path)} gives what {@link #inspect(Path)} would.
     */
    public static Checked checking(OutputStream out) {
        return new Checked(out);
    }

    /** An output stream that hashes what passes through it. */
    public static final class Checked extends FilterOutputStream {
        private final SnapshotDigest digest = new SnapshotDigest();

        private Checked(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            digest.update(b, off, len);
        }

        public SnapshotFile result(Path path) {
            return of(path, digest);
        }
    }

    /** The id agents stage the file under: derived from the digest, so a resumed run finds its bytes. */
    public String transferId() {
        return "sha256-" + sha256.substring(0, 32);
    }

    private static SnapshotFile of(Path path, SnapshotDigest digest) {
        return new SnapshotFile(path, digest.position(), digest.hex(), digest.trailer());
    }
}
