package dev.etcdrescue.snapshotformat.bolt;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;

/**
 * The pages of a bbolt file below the high-water mark, read on demand with positional reads
 * (no mmap: a snapshot may be larger than one mapping and is read once, page by page).
 */
final class PageFile {
    /** bbolt's page header: id uint64, flags uint16, count uint16, overflow uint32. */
    static final int HEADER = 16;
    static final int BRANCH = 0x01;
    static final int LEAF = 0x02;
    static final int META = 0x04;
    static final int FREELIST = 0x10;

    private final FileChannel channel;
    private final int pageSize;
    private final long highWaterMark;

    PageFile(FileChannel channel, int pageSize, long highWaterMark) {
        this.channel = channel;
        this.pageSize = pageSize;
        this.highWaterMark = highWaterMark;
    }

    long highWaterMark() {
        return highWaterMark;
    }

    /** Page {@code id} with its overflow pages, as a little-endian buffer from the page header on. */
    ByteBuffer read(long id) throws IOException, Corrupt {
        if (id < 2 || id >= highWaterMark) {
            throw new Corrupt("a reference to page " + id + " outside the database (pages 2 to " + (highWaterMark - 1) + ")");
        }
        ByteBuffer first = readAt(id * pageSize, pageSize);
        long headerId = first.getLong(0);
        if (headerId != id) {
            throw new Corrupt("page " + id + " has id " + Long.toUnsignedString(headerId) + " in its header");
        }
        long overflow = Integer.toUnsignedLong(first.getInt(12));
        if (overflow == 0) {
            return first;
        }
        if (id + overflow >= highWaterMark) {
            throw new Corrupt("page " + id + " has " + overflow + " overflow pages, past the high-water mark " + highWaterMark);
        }
        ByteBuffer whole = ByteBuffer.allocate(Math.toIntExact((overflow + 1) * pageSize)).order(ByteOrder.LITTLE_ENDIAN);
        whole.put(first.rewind());
        whole.put(readAt((id + 1) * pageSize, Math.toIntExact(overflow * pageSize)));
        return whole.flip();
    }

    static int flags(ByteBuffer page) {
        return Short.toUnsignedInt(page.getShort(8));
    }

    static int count(ByteBuffer page) {
        return Short.toUnsignedInt(page.getShort(10));
    }

    static long overflow(ByteBuffer page) {
        return Integer.toUnsignedLong(page.getInt(12));
    }

    static String type(int flags) {
        if ((flags & BRANCH) != 0) {
            return "branch";
        } else if ((flags & LEAF) != 0) {
            return "leaf";
        } else if ((flags & META) != 0) {
            return "meta";
        } else if ((flags & FREELIST) != 0) {
            return "freelist";
        }
        return String.format("unknown<%02x>", flags);
    }

    private ByteBuffer readAt(long position, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (buf.hasRemaining()) {
            if (channel.read(buf, position + buf.position()) < 0) {
                throw new EOFException("end of file at byte " + (position + buf.position()));
            }
        }
        return buf.flip();
    }

    /** A structural fault in the file; BoltSnapshot turns it into a {@link NotASnapshotException}. */
    static final class Corrupt extends Exception {
        Corrupt(String message) {
            super(message, null, false, false);
        }
    }
}
