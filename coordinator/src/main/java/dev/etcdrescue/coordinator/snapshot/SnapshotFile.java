package dev.etcdrescue.coordinator.snapshot;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * A snapshot file as the coordinator checked it. etcd appends a 32-byte SHA-256 of the database
 * to every snapshot it sends ({@code size % 512 == 32}); a raw {@code member/snap/db} copied from a
 * dead member has no such trailer and can only be restored with {@code --skip-hash-check}.
 *
 * @param sha256 digest of the whole file, as the agents must report it after the transfer
 * @param trailer {@link Trailer#VALID} when the etcd trailer is present and matches the content
 */
public record SnapshotFile(Path path, long size, String sha256, Trailer trailer) {
    public enum Trailer { VALID, MISMATCH, ABSENT }

    private static final int TRAILER = 32;
    private static final int BOLT_PAGE_ALIGN = 512;

    public static SnapshotFile inspect(Path path) throws IOException {
        Checker checker = new Checker();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(path)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                checker.update(buf, 0, n);
            }
        }
        return checker.result(path);
    }

    /**
     * Writes a snapshot to {@code out} while checking it, so a file just received needs no second
     * read: {@link #result(Path)} gives what {@link #inspect(Path)} would.
     */
    public static Checked checking(OutputStream out) {
        return new Checked(out, new Checker());
    }

    /** An output stream that hashes what passes through it. */
    public static final class Checked extends FilterOutputStream {
        private final Checker checker;

        private Checked(OutputStream out, Checker checker) {
            super(out);
            this.checker = checker;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            checker.update(b, off, len);
        }

        public SnapshotFile result(Path path) {
            return checker.result(path);
        }
    }

    /**
     * Both digests from one pass. The trailer is only known to be one at the end (from the size), so the
     * last 32 bytes seen are held back from the content digest until more bytes push them out.
     */
    private static final class Checker {
        private final MessageDigest content = newDigest();
        private final byte[] tail = new byte[TRAILER];
        private int tailLength;
        private long size;

        void update(byte[] b, int off, int len) {
            size += len;
            if (len >= TRAILER) {
                content.update(tail, 0, tailLength);
                content.update(b, off, len - TRAILER);
                System.arraycopy(b, off + len - TRAILER, tail, 0, TRAILER);
                tailLength = TRAILER;
                return;
            }
            int overflow = tailLength + len - TRAILER;
            if (overflow > 0) {
                content.update(tail, 0, overflow);
                System.arraycopy(tail, overflow, tail, 0, tailLength - overflow);
                tailLength -= overflow;
            }
            System.arraycopy(b, off, tail, tailLength, len);
            tailLength += len;
        }

        /** The whole-file digest is the content digest continued with the held-back bytes: one SHA-256 pass, not two. */
        SnapshotFile result(Path path) {
            MessageDigest whole = copy(content);
            whole.update(tail, 0, tailLength);
            boolean mayHaveTrailer = size > TRAILER && size % BOLT_PAGE_ALIGN == TRAILER;
            Trailer state = !mayHaveTrailer ? Trailer.ABSENT
                    : Arrays.equals(copy(content).digest(), tail) ? Trailer.VALID : Trailer.MISMATCH;
            return new SnapshotFile(path, size, HexFormat.of().formatHex(whole.digest()), state);
        }

        private static MessageDigest copy(MessageDigest digest) {
            try {
                return (MessageDigest) digest.clone();
            } catch (CloneNotSupportedException e) {
                throw new IllegalStateException("the JVM's SHA-256 cannot be cloned", e);
            }
        }
    }

    /** The id agents stage the file under: derived from the digest, so a resumed run finds its bytes. */
    public String transferId() {
        return "sha256-" + sha256.substring(0, 32);
    }

    private static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM lacks SHA-256", e);
        }
    }
}
