package dev.etcdrescue.snapshotformat.bolt;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One of bbolt's two meta pages ({@code meta} in bbolt's db.go), read from {@code page}. Fields
 * are little-endian on disk; the checksum is FNV-64a over the fields before it.
 */
record Meta(long page, int magic, int version, int pageSize, long rootPgid, long freelistPgid, long highWaterMark,
        long txid, long checksum, long computedChecksum) {
    static final int MAGIC = 0xED0CDAED;
    static final int VERSION = 2;
    static final long NO_FREELIST = 0xFFFFFFFFFFFFFFFFL;
    /** Page header (16 bytes) plus the meta struct up to and including its checksum. */
    static final int BYTES_NEEDED = PageFile.HEADER + 64;
    private static final int CHECKSUM_OFFSET = 56;

    /** {@code bytes} holds the page from its start, at least {@link #BYTES_NEEDED} long. */
    static Meta parse(long page, byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes, PageFile.HEADER, 64).slice().order(ByteOrder.LITTLE_ENDIAN);
        return new Meta(page, b.getInt(0), b.getInt(4), b.getInt(8), b.getLong(16), b.getLong(32), b.getLong(40),
                b.getLong(48), b.getLong(CHECKSUM_OFFSET), fnv64a(bytes, PageFile.HEADER, CHECKSUM_OFFSET));
    }

    /** Why bbolt would reject this meta (its {@code meta.validate}), or null when it is valid. */
    String problem() {
        if (magic != MAGIC) {
            return String.format("bad magic at page %d (0x%08x, expected 0x%08x)", page, magic, MAGIC);
        }
        if (version != VERSION) {
            return "unsupported bbolt version " + Integer.toUnsignedString(version) + " at page " + page + " (expected 2)";
        }
        // bbolt accepts a zero checksum: files older than the checksum field have none.
        if (checksum != 0 && checksum != computedChecksum) {
            return String.format("meta checksum mismatch at page %d (stored %016x, computed %016x)", page, checksum,
                    computedChecksum);
        }
        return null;
    }

    boolean hasFreelist() {
        return freelistPgid != NO_FREELIST;
    }

    private static long fnv64a(byte[] bytes, int from, int length) {
        long hash = 0xcbf29ce484222325L;
        for (int i = from; i < from + length; i++) {
            hash ^= bytes[i] & 0xff;
            hash *= 0x100000001b3L;
        }
        return hash;
    }
}
