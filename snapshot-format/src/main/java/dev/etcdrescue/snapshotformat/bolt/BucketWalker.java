package dev.etcdrescue.snapshotformat.bolt;

import dev.etcdrescue.snapshotformat.bolt.PageFile.Corrupt;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.BitSet;

/**
 * Walks bbolt B+trees in key order (branch pages, leaf pages, overflow pages, inline buckets) and
 * records every page it reaches, as bbolt's {@code tx.Check} does: a page reached twice, a freed
 * page in use, or an unsorted key is a corrupt file.
 */
final class BucketWalker {
    /** One key of a bucket; {@code value} is a bucket header when {@code bucket} is set. */
    interface Visitor {
        void entry(byte[] key, ByteBuffer value, boolean bucket) throws IOException, Corrupt;
    }

    /** bbolt's {@code bucket} header in a value: root pgid uint64, sequence uint64. */
    static final int BUCKET_HEADER = 16;
    private static final int ELEMENT = 16;
    private static final int LEAF_BUCKET_FLAG = 0x01;
    /** Far above any real tree: a deeper one is a reference loop through corrupt pages. */
    private static final int MAX_DEPTH = 64;

    private final PageFile pages;
    private final BitSet reachable = new BitSet();
    private final BitSet freed;

    BucketWalker(PageFile pages, BitSet freed) {
        this.pages = pages;
        this.freed = freed;
    }

    BitSet reachable() {
        return reachable;
    }

    /** Marks a page and its overflow pages as in use; each may be used once only. */
    void markReachable(long id, long overflow) throws Corrupt {
        for (long p = id; p <= id + overflow; p++) {
            int bit = Math.toIntExact(p);
            if (reachable.get(bit)) {
                throw new Corrupt("page " + p + ": multiple references");
            }
            if (freed.get(bit)) {
                throw new Corrupt("page " + p + ": in use but listed in the freelist");
            }
            reachable.set(bit);
        }
    }

    /** The tree rooted at page {@code root} (the root bucket of the file). */
    void walkTree(long root, String bucket, Visitor visitor) throws IOException, Corrupt {
        walkPage(root, new Order(bucket), visitor, 0);
    }

    /** The bucket whose header is {@code header}: its own pages, or the page inlined after the header. */
    void walkBucket(ByteBuffer header, String bucket, Visitor visitor) throws IOException, Corrupt {
        if (header.remaining() < BUCKET_HEADER) {
            throw new Corrupt("bucket " + bucket + ": header of " + header.remaining() + " bytes, expected " + BUCKET_HEADER);
        }
        long root = header.getLong(header.position());
        if (root != 0) {
            walkPage(root, new Order(bucket), visitor, 0);
            return;
        }
        ByteBuffer inline = header.slice(header.position() + BUCKET_HEADER, header.remaining() - BUCKET_HEADER)
                .order(ByteOrder.LITTLE_ENDIAN);
        if (inline.remaining() < PageFile.HEADER || (PageFile.flags(inline) & PageFile.LEAF) == 0) {
            throw new Corrupt("bucket " + bucket + ": inline bucket without a leaf page");
        }
        walkElements(inline, "inline page of bucket " + bucket, new Order(bucket), visitor, 0);
    }

    private void walkPage(long id, Order order, Visitor visitor, int depth) throws IOException, Corrupt {
        if (depth > MAX_DEPTH) {
            throw new Corrupt("bucket " + order.bucket + ": tree deeper than " + MAX_DEPTH + " levels at page " + id);
        }
        ByteBuffer page = pages.read(id);
        markReachable(id, PageFile.overflow(page));
        walkElements(page, "page " + id, order, visitor, depth);
    }

    private void walkElements(ByteBuffer page, String where, Order order, Visitor visitor, int depth)
            throws IOException, Corrupt {
        int flags = PageFile.flags(page);
        int count = PageFile.count(page);
        if ((long) PageFile.HEADER + (long) count * ELEMENT > page.limit()) {
            throw new Corrupt(where + ": " + count + " elements do not fit in " + page.limit() + " bytes");
        }
        boolean branch = (flags & PageFile.BRANCH) != 0;
        if (!branch && (flags & PageFile.LEAF) == 0) {
            throw new Corrupt(where + ": invalid type " + PageFile.type(flags) + " (expected branch or leaf) in bucket "
                    + order.bucket);
        }
        for (int i = 0; i < count; i++) {
            int element = PageFile.HEADER + i * ELEMENT;
            if (branch) {
                slice(page, element, page.getInt(element), Integer.toUnsignedLong(page.getInt(element + 4)), 0, where, i);
                walkPage(page.getLong(element + 8), order, visitor, depth + 1);
            } else {
                int elementFlags = page.getInt(element);
                long keySize = Integer.toUnsignedLong(page.getInt(element + 8));
                long valueSize = Integer.toUnsignedLong(page.getInt(element + 12));
                ByteBuffer kv = slice(page, element, page.getInt(element + 4), keySize, valueSize, where, i);
                byte[] key = new byte[(int) keySize];
                kv.get(0, key);
                order.check(key, where);
                ByteBuffer value = kv.slice((int) keySize, (int) valueSize).order(ByteOrder.LITTLE_ENDIAN);
                visitor.entry(key, value, (elementFlags & LEAF_BUCKET_FLAG) != 0);
            }
        }
    }

    /** Key and value bytes of element {@code index}: they sit {@code pos} bytes after the element itself. */
    private static ByteBuffer slice(ByteBuffer page, int element, int pos, long keySize, long valueSize, String where,
            int index) throws Corrupt {
        long start = element + Integer.toUnsignedLong(pos);
        long end = start + keySize + valueSize;
        if (end > page.limit()) {
            throw new Corrupt(where + ": element " + index + " points past the page (bytes " + start + " to " + end
                    + " of " + page.limit() + ")");
        }
        return page.slice((int) start, (int) (end - start));
    }

    /** bbolt keeps each bucket's keys sorted as unsigned bytes; anything else is a corrupt tree. */
    private static final class Order {
        private final String bucket;
        private byte[] previous;

        Order(String bucket) {
            this.bucket = bucket;
        }

        void check(byte[] key, String where) throws Corrupt {
            if (previous != null && Arrays.compareUnsigned(previous, key) >= 0) {
                throw new Corrupt(where + ": keys of bucket " + bucket + " out of order");
            }
            previous = key;
        }
    }
}
