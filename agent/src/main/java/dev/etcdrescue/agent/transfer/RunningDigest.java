package dev.etcdrescue.agent.transfer;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;

/**
 * SHA-256 of a file as its bytes go by. When the final size is known up front it also keeps the
 * digest of everything but the last 32 bytes, which is what etcd's snapshot hash trailer must equal,
 * so the trailer check needs no second pass over the file.
 */
public final class RunningDigest {
    public static final int TRAILER_BYTES = 32;

    private final MessageDigest digest = newSha256();
    private final long trailerStart;
    private MessageDigest prefix;
    private long position;

    /** @param expectedSize the final size, or 0 when unknown */
    public RunningDigest(long expectedSize) {
        this.trailerStart = expectedSize >= TRAILER_BYTES ? expectedSize - TRAILER_BYTES : -1;
    }

    public void update(byte[] bytes, int offset, int length) {
        if (trailerStart >= 0 && prefix == null && position <= trailerStart && position + length >= trailerStart) {
            int head = (int) (trailerStart - position);
            digest.update(bytes, offset, head);
            prefix = copy(digest);
            digest.update(bytes, offset + head, length - head);
        } else {
            digest.update(bytes, offset, length);
        }
        position += length;
    }

    /** The same as {@link #update(byte[], int, int)} for a buffer (a received chunk, without copying it to an array first). */
    public void update(java.nio.ByteBuffer bytes) {
        int length = bytes.remaining();
        if (trailerStart >= 0 && prefix == null && position <= trailerStart && position + length >= trailerStart) {
            int head = (int) (trailerStart - position);
            java.nio.ByteBuffer first = bytes.duplicate();
            first.limit(first.position() + head);
            digest.update(first);
            prefix = copy(digest);
            bytes.position(bytes.position() + head);
            digest.update(bytes);
        } else {
            digest.update(bytes);
        }
        position += length;
    }

    public long position() {
        return position;
    }

    public String hex() {
        return HexFormat.of().formatHex(copy(digest).digest());
    }

    /** SHA-256 of all bytes before the last 32, when the size was known in advance. */
    public Optional<byte[]> prefixDigest() {
        return Optional.ofNullable(prefix).map(p -> copy(p).digest());
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
