package dev.etcdrescue.snapshotformat;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;

/**
 * SHA-256 of a snapshot file as its bytes go by, and at the same time the check of etcd's hash trailer:
 * etcd appends the SHA-256 of the database (32 bytes) to every snapshot it sends, so such a file has
 * {@code size % 512 == 32} (bolt pages are 512-byte aligned), while a raw {@code member/snap/db} has none.
 *
 * <p>One pass, whether or not the final size is known up front (a snapshot streamed while it is taken
 * is not): the last 32 bytes seen are held back from the content digest until more bytes push them out;
 * the whole file's digest is that digest continued with them. The coordinator checks what etcd sent
 * with it, the agents what they received, so both give the same verdict on the same bytes.
 */
public final class SnapshotDigest {
    public static final int TRAILER_BYTES = 32;
    public static final int PAGE_ALIGN = 512;

    /** What the end of the file says. */
    public enum Trailer {
        /** etcd's trailer, equal to the SHA-256 of everything before it. */
        VALID,
        /** The size says trailer, the bytes do not match: a damaged or truncated snapshot. */
        MISMATCH,
        /** No trailer (a raw database file): only {@code --skip-hash-check} restores it. */
        ABSENT
    }

    private final MessageDigest content = newSha256();
    private final byte[] tail = new byte[TRAILER_BYTES];
    private int tailLength;
    private long position;

    public void update(byte[] bytes, int offset, int length) {
        update(ByteBuffer.wrap(bytes, offset, length));
    }

    /** Reads {@code bytes} to its limit (a received chunk, without copying it to an array first). */
    public void update(ByteBuffer bytes) {
        int length = bytes.remaining();
        position += length;
        if (length >= TRAILER_BYTES) {
            content.update(tail, 0, tailLength);
            ByteBuffer head = bytes.duplicate();
            head.limit(head.position() + length - TRAILER_BYTES);
            content.update(head);
            bytes.position(bytes.position() + length - TRAILER_BYTES);
            bytes.get(tail, 0, TRAILER_BYTES);
            tailLength = TRAILER_BYTES;
            return;
        }
        int overflow = tailLength + length - TRAILER_BYTES;
        if (overflow > 0) {
            content.update(tail, 0, overflow);
            System.arraycopy(tail, overflow, tail, 0, tailLength - overflow);
            tailLength -= overflow;
        }
        bytes.get(tail, tailLength, length);
        tailLength += length;
    }

    /** Bytes seen so far. */
    public long position() {
        return position;
    }

    /** SHA-256 (hex) of every byte seen, trailer included: what both sides compare after a transfer. */
    public String hex() {
        MessageDigest whole = copy(content);
        whole.update(tail, 0, tailLength);
        return HexFormat.of().formatHex(whole.digest());
    }

    /** SHA-256 of all bytes before the last 32 (empty for a file shorter than that). */
    public Optional<byte[]> prefixDigest() {
        return position < TRAILER_BYTES ? Optional.empty() : Optional.of(copy(content).digest());
    }

    /** The verdict on the bytes seen so far, taken as the whole file. */
    public Trailer trailer() {
        if (!mayHaveTrailer(position)) {
            return Trailer.ABSENT;
        }
        return Arrays.equals(copy(content).digest(), tail) ? Trailer.VALID : Trailer.MISMATCH;
    }

    /** Whether a file of this size can end with etcd's trailer at all. */
    public static boolean mayHaveTrailer(long size) {
        return size > TRAILER_BYTES && size % PAGE_ALIGN == TRAILER_BYTES;
    }

    public static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    private static MessageDigest copy(MessageDigest digest) {
        try {
            return (MessageDigest) digest.clone();
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException("the JDK's SHA-256 cannot be cloned", e);
        }
    }
}
