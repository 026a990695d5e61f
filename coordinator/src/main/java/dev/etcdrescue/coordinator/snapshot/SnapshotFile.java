package dev.etcdrescue.coordinator.snapshot;

import java.io.IOException;
import java.io.InputStream;
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
        long size = Files.size(path);
        boolean mayHaveTrailer = size > TRAILER && size % BOLT_PAGE_ALIGN == TRAILER;
        MessageDigest whole = newDigest();
        MessageDigest content = newDigest();
        byte[] trailer = new byte[TRAILER];
        long contentEnd = mayHaveTrailer ? size - TRAILER : size;
        byte[] buf = new byte[1 << 20];
        long pos = 0;
        try (InputStream in = Files.newInputStream(path)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                whole.update(buf, 0, n);
                int contentPart = (int) Math.max(0, Math.min(n, contentEnd - pos));
                content.update(buf, 0, contentPart);
                for (int i = contentPart; i < n; i++) {
                    trailer[(int) (pos + i - contentEnd)] = buf[i];
                }
                pos += n;
            }
        }
        Trailer state = !mayHaveTrailer ? Trailer.ABSENT
                : Arrays.equals(content.digest(), trailer) ? Trailer.VALID : Trailer.MISMATCH;
        return new SnapshotFile(path, size, HexFormat.of().formatHex(whole.digest()), state);
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
