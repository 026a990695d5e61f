package dev.etcdrescue.agent.transfer;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;

/**
 * SHA-256 of a file as its bytes go by, and at the same time the digest of everything but its last 32
 * bytes, which is what etcd's snapshot hash trailer must equal: one pass, whether or not the final size
 * is known up front (a snapshot streamed while it is taken is not). The last 32 bytes seen are held back
 * from the running digest until more bytes push them out; the whole file's digest is that digest
 * continued with them.
 */
public final class RunningDigest {
    public static final int TRAILER_BYTES = 32;

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

    public long position() {
        return position;
    }

    public String hex() {
        MessageDigest whole = copy(content);
        whole.update(tail, 0, tailLength);
        return HexFormat.of().formatHex(whole.digest());
    }

    /** SHA-256 of all bytes before the last 32 (empty for a file shorter than that). */
    public Optional<byte[]> prefixDigest() {
        return position < TRAILER_BYTES ? Optional.empty() : Optional.of(copy(content).digest());
    }

    public static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    private static MessageDigest copy(MessageDigest d) {
        try {
            return (MessageDigest) d.clone();
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException("SHA-256 digest cannot be cloned", e);
        }
    }
}
