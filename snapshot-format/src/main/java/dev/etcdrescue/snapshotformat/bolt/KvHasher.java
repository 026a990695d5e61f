package dev.etcdrescue.snapshotformat.bolt;

import dev.etcdrescue.snapshotformat.bolt.PageFile.Corrupt;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.BitSet;
import java.util.zip.CRC32C;

/**
 * etcd's HashKV at a snapshot's own revision, from the file (etcd 3.4-3.6 {@code hashByRev}): CRC-32C over the
 * bucket name {@code key}, then each revision key and value of that bucket in order, where a revision at or
 * below the last compaction counts only if the index keeps it at the hashed revision (the newest revision of a
 * key that still exists). After a finished compaction each key has at most one revision at or below it, so a
 * first pass notes those keys (a 64-bit hash each) and which of them have a newer revision; the second hashes.
 */
final class KvHasher {
    private static final byte[] NAME = "key".getBytes(StandardCharsets.US_ASCII);
    private final PageFile pages;
    private final ByteBuffer keyBucket;
    private final long compactRevision;

    KvHasher(PageFile pages, ByteBuffer keyBucket, long compactRevision) {
        this.pages = pages;
        this.keyBucket = keyBucket;
        this.compactRevision = compactRevision;
    }

    long hash() throws IOException, Corrupt {
        CRC32C crc = new CRC32C();
        crc.update(NAME);
        if (compactRevision < 0) {
            walk((key, value, nested) -> {
                crc.update(key);
                crc.update(value.duplicate());
            });
            return crc.getValue();
        }
        Superseded superseded = superseded();
        walk((key, value, nested) -> {
            if (main(key) > compactRevision || superseded.keeps(key, value)) {
                crc.update(key);
                crc.update(value.duplicate());
            }
        });
        return crc.getValue();
    }

    /** The keys revised at or before the compaction (they come first: the bucket is in revision order), and which are newer. */
    private Superseded superseded() throws IOException, Corrupt {
        long[][] old = {new long[1024]};
        int[] count = {0};
        BitSet newer = new BitSet();
        long[][] sorted = {null};
        walk((key, value, nested) -> {
            long user = userKey(value);
            if (main(key) <= compactRevision) {
                if (count[0] == old[0].length) {
                    old[0] = Arrays.copyOf(old[0], old[0].length * 2);
                }
                old[0][count[0]++] = user;
                return;
            }
            if (sorted[0] == null) {
                sorted[0] = Arrays.copyOf(old[0], count[0]);
                Arrays.sort(sorted[0]);
            }
            int at = Arrays.binarySearch(sorted[0], user);
            if (at >= 0) {
                newer.set(at);
            }
        });
        if (sorted[0] == null) {
            sorted[0] = Arrays.copyOf(old[0], count[0]);
            Arrays.sort(sorted[0]);
        }
        return new Superseded(sorted[0], newer);
    }

    /** Old revisions by their key's hash: kept unless a newer revision of the key exists, or it is a tombstone. */
    private record Superseded(long[] keys, BitSet newer) {
        boolean keeps(byte[] revision, ByteBuffer value) throws Corrupt {
            if (revision.length == BoltSnapshot.REVISION_KEY + 1) {
                return false;
            }
            int at = Arrays.binarySearch(keys, userKey(value));
            return at >= 0 && !newer.get(at);
        }
    }

    private void walk(BucketWalker.Visitor visitor) throws IOException, Corrupt {
        new BucketWalker(pages, new BitSet()).walkBucket(keyBucket.duplicate().order(ByteOrder.LITTLE_ENDIAN), "key", visitor);
    }

    private static long main(byte[] revision) {
        return ByteBuffer.wrap(revision, 0, Long.BYTES).getLong();
    }

    /**
     * A 64-bit hash (FNV-1a) of the etcd key in a revision's value, an mvccpb.KeyValue whose field 1 is the key.
     * Two keys with one hash would make the check fail, never pass wrongly.
     */
    static long userKey(ByteBuffer value) throws Corrupt {
        ByteBuffer v = value.duplicate();
        if (!v.hasRemaining() || v.get() != 0x0A) {
            throw new Corrupt("key bucket: a value that is not an etcd KeyValue (no key field first)");
        }
        long length = 0;
        for (int shift = 0; ; shift += 7) {
            if (!v.hasRemaining() || shift > 28) {
                throw new Corrupt("key bucket: a KeyValue with a broken key length");
            }
            byte b = v.get();
            length |= (long) (b & 0x7F) << shift;
            if (b >= 0) {
                break;
            }
        }
        if (length > v.remaining()) {
            throw new Corrupt("key bucket: a KeyValue whose key runs past its value");
        }
        long hash = 0xcbf29ce484222325L;
        for (int i = 0; i < length; i++) {
            hash = (hash ^ (v.get() & 0xFF)) * 0x100000001b3L;
        }
        return hash;
    }
}
