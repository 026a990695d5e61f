package dev.etcdrescue.snapshotformat.bolt;

import dev.etcdrescue.snapshotformat.bolt.PageFile.Corrupt;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * Reads an etcd v3 snapshot (a bbolt database, optionally followed by etcd's SHA-256 trailer)
 * without etcd: checks it is an intact bbolt file and computes what {@code etcdctl snapshot status}
 * prints, the same way (etcd 3.4 {@code clientv3/snapshot.Status}, 3.5 {@code etcdutl}).
 *
 * <p>Meta pages follow bbolt: the valid one with the higher txid wins, and a raw {@code member/snap/db}
 * with one torn meta page is accepted as bbolt accepts it. A file with etcd's trailer must have both
 * meta pages valid, because etcd writes both when it makes a snapshot.
 */
public final class BoltSnapshot {
    static final int TRAILER = 32;
    /** etcd's own test for a hash trailer ({@code snapshot restore}): bbolt sizes are multiples of 512. */
    private static final int TRAILER_ALIGN = 512;
    private static final int MIN_PAGE_SIZE = 512;
    private static final int MAX_PAGE_SIZE = 1 << 20;
    private static final String KEY_BUCKET = "key";
    private static final String META_BUCKET = "meta";
    private static final byte[] CONSISTENT_INDEX = "consistent_index".getBytes(StandardCharsets.US_ASCII);
    /** etcd 3.6+ writes its storage version ("3.6.0"); 3.5 writes the raft term beside the consistent index. */
    private static final byte[] STORAGE_VERSION = "storageVersion".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TERM = "term".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SCHEDULED_COMPACT = "scheduledCompactRev".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] FINISHED_COMPACT = "finishedCompactRev".getBytes(StandardCharsets.US_ASCII);
    /** etcd's revision key: 8-byte main revision, '_', 8-byte sub revision, and 't' on a tombstone. */
    static final int REVISION_KEY = 17;

    private final Path file;
    private final FileChannel channel;
    /** Set by {@link #read}: the key bucket's header, for {@link #hashKv}. */
    private ByteBuffer keyBucket;

    private BoltSnapshot(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    /**
     * Checks {@code file} and reads its status.
     *
     * @throws NotASnapshotException if it is not an intact etcd bbolt database
     * @throws IOException if it cannot be read at all (missing, unreadable)
     */
    public static SnapshotInfo read(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return new BoltSnapshot(file, channel).read();
        }
    }

    /** What {@link #inspect} found: the status and the file's HashKV at its revision. */
    public record Inspected(SnapshotInfo info, long hashKv) {}

    /**
     * What etcd's HashKV answers at the snapshot's revision, for the data in {@code file} (an unsigned 32-bit
     * value): a second pass over etcd's key bucket, or two after a compaction. Not part of {@link #read}, which
     * the recovery's critical path runs.
     *
     * @throws NotASnapshotException if it is not an intact etcd bbolt database
     */
    public static long hashKv(Path file) throws IOException {
        return inspect(file, info -> { }).hashKv();
    }

    /**
     * {@link #read} and {@link #hashKv} in one opening of the file; {@code onStatus} is told the status between the
     * two passes (a backup asks the member for its HashKV at that revision while the file's is computed).
     *
     * @throws NotASnapshotException if it is not an intact etcd bbolt database
     */
    public static Inspected inspect(Path file, Consumer<SnapshotInfo> onStatus) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            BoltSnapshot snapshot = new BoltSnapshot(file, channel);
            SnapshotInfo info = snapshot.read();
            onStatus.accept(info);
            Meta meta = snapshot.chooseMeta(channel.size(), info.hashTrailer());
            PageFile pages = new PageFile(channel, meta.pageSize(), meta.highWaterMark());
            try {
                return new Inspected(info, new KvHasher(pages, snapshot.keyBucket, info.compactRevision()).hash());
            } catch (Corrupt e) {
                throw snapshot.refuse("corrupt: " + e.getMessage());
            }
        }
    }

    private SnapshotInfo read() throws IOException {
        long size = channel.size();
        if (size == 0) {
            throw refuse("empty file (0 bytes)");
        }
        boolean trailer = size > TRAILER && size % TRAILER_ALIGN == TRAILER;
        long dataSize = trailer ? size - TRAILER : size;
        Meta meta = chooseMeta(size, trailer);
        long needed = meta.highWaterMark() * meta.pageSize();
        if (meta.highWaterMark() < 2 || needed / meta.pageSize() != meta.highWaterMark()) {
            throw refuse("meta page " + meta.page() + " has an impossible high-water mark " + meta.highWaterMark());
        }
        if (needed > dataSize) {
            throw refuse("truncated: meta says " + meta.highWaterMark() + " pages of " + meta.pageSize() + " bytes ("
                    + needed + " bytes), file has " + (trailer ? dataSize + " before its " + TRAILER + "-byte hash trailer"
                    : size + " bytes"));
        }
        if (meta.highWaterMark() > Integer.MAX_VALUE) {
            throw refuse("too many pages (" + meta.highWaterMark() + ") for this reader");
        }
        try {
            return status(meta, trailer);
        } catch (Corrupt e) {
            throw refuse("corrupt: " + e.getMessage());
        }
    }

    private SnapshotInfo status(Meta meta, boolean trailer) throws IOException, Corrupt {
        PageFile pages = new PageFile(channel, meta.pageSize(), meta.highWaterMark());
        BitSet freed = meta.hasFreelist() ? freelist(pages, meta.freelistPgid()) : new BitSet();
        BucketWalker walker = new BucketWalker(pages, freed);
        walker.markReachable(0, 1);
        if (meta.hasFreelist()) {
            walker.markReachable(meta.freelistPgid(), PageFile.overflow(pages.read(meta.freelistPgid())));
        }
        EtcdStatus status = new EtcdStatus(walker);
        walker.walkTree(meta.rootPgid(), "(root)", status::bucket);
        if (meta.hasFreelist()) {
            checkEveryPageAccountedFor(walker.reachable(), freed, meta.highWaterMark());
        }
        List<String> missing = new ArrayList<>();
        for (String required : List.of(KEY_BUCKET, META_BUCKET)) {
            if (!status.buckets.contains(required)) {
                missing.add("'" + required + "'");
            }
        }
        keyBucket = status.keyBucket;
        if (!missing.isEmpty()) {
            throw refuse("a bbolt file, but not an etcd database: no " + String.join(" or ", missing) + " bucket (buckets: "
                    + (status.buckets.isEmpty() ? "none" : String.join(", ", status.buckets)) + ")");
        }
        return new SnapshotInfo(status.revision, status.totalKeys, meta.highWaterMark() * meta.pageSize(),
                Long.toHexString(status.hash.getValue()), status.consistentIndex, trailer, status.storageVersion, status.term,
                status.finishedCompact, status.scheduledCompact > status.finishedCompact);
    }

    /**
     * The meta page bbolt would use. When page 0 is unreadable its page size is unknown, so, as
     * newer bbolt does, page 1 is looked for at every plausible page size.
     */
    private Meta chooseMeta(long size, boolean trailer) throws IOException {
        if (size < Meta.BYTES_NEEDED) {
            throw refuse("not a bbolt file: only " + size + " bytes, less than one meta page");
        }
        Meta meta0 = Meta.parse(0, bytesAt(0, Meta.BYTES_NEEDED));
        Meta meta1 = null;
        if (meta0.problem() == null) {
            int pageSize = meta0.pageSize();
            if (Integer.bitCount(pageSize) != 1 || pageSize < MIN_PAGE_SIZE || pageSize > MAX_PAGE_SIZE) {
                throw refuse("implausible page size " + Integer.toUnsignedString(pageSize) + " in meta page 0");
            }
            if (size < 2L * pageSize) {
                throw refuse("truncated: " + size + " bytes, less than the two meta pages of " + pageSize + " bytes");
            }
            meta1 = Meta.parse(1, bytesAt(pageSize, Meta.BYTES_NEEDED));
        } else {
            for (int pageSize = MIN_PAGE_SIZE; pageSize <= MAX_PAGE_SIZE && pageSize + Meta.BYTES_NEEDED <= size; pageSize *= 2) {
                Meta candidate = Meta.parse(1, bytesAt(pageSize, Meta.BYTES_NEEDED));
                if (candidate.problem() == null && candidate.pageSize() == pageSize) {
                    meta1 = candidate;
                    break;
                }
            }
        }
        String problem0 = meta0.problem();
        String problem1 = meta1 == null ? "no valid meta page 1 at any page size" : meta1.problem();
        if (problem0 != null && problem1 != null) {
            if (meta0.magic() != Meta.MAGIC) {
                throw refuse("not a bbolt file: " + problem0);
            }
            throw refuse(problem0.startsWith("meta checksum mismatch")
                    ? "both meta pages are invalid: " + problem0 + "; " + problem1 : problem0);
        }
        if (trailer && (problem0 != null || problem1 != null)) {
            throw refuse((problem0 != null ? problem0 : problem1)
                    + ": etcd writes both meta pages of a snapshot, so this one is corrupt");
        }
        if (problem0 != null) {
            return meta1;
        }
        if (problem1 != null) {
            return meta0;
        }
        return Long.compareUnsigned(meta1.txid(), meta0.txid()) > 0 ? meta1 : meta0;
    }

    /** The free pages bbolt lists; a count of 0xFFFF means the real count is the first element. */
    private static BitSet freelist(PageFile pages, long id) throws IOException, Corrupt {
        ByteBuffer page = pages.read(id);
        if ((PageFile.flags(page) & PageFile.FREELIST) == 0) {
            throw new Corrupt("page " + id + " should hold the freelist but is a " + PageFile.type(PageFile.flags(page)) + " page");
        }
        long count = PageFile.count(page);
        int first = 0;
        if (count == 0xFFFF) {
            count = page.getLong(PageFile.HEADER);
            first = 1;
        }
        if (count < 0 || count > page.limit() / Long.BYTES || PageFile.HEADER + (first + count) * Long.BYTES > page.limit()) {
            throw new Corrupt("freelist page " + id + ": " + Long.toUnsignedString(count) + " ids do not fit in the page");
        }
        BitSet freed = new BitSet();
        for (int i = first; i < first + count; i++) {
            long free = page.getLong(PageFile.HEADER + i * Long.BYTES);
            if (free < 2 || free >= pages.highWaterMark()) {
                throw new Corrupt("freelist lists page " + Long.toUnsignedString(free) + ", outside pages 2 to "
                        + (pages.highWaterMark() - 1));
            }
            if (freed.get((int) free)) {
                throw new Corrupt("page " + free + ": freed twice");
            }
            freed.set((int) free);
        }
        return freed;
    }

    private static void checkEveryPageAccountedFor(BitSet reachable, BitSet freed, long highWaterMark) throws Corrupt {
        BitSet lost = new BitSet();
        lost.set(0, (int) highWaterMark);
        lost.andNot(reachable);
        lost.andNot(freed);
        if (!lost.isEmpty()) {
            int more = lost.cardinality() - 1;
            throw new Corrupt("page " + lost.nextSetBit(0) + ": unreachable and not free" + (more > 0 ? " (and " + more
                    + " more pages)" : ""));
        }
    }

    private byte[] bytesAt(long position, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        // Positional reads may return short counts: loop until full or at the end of the file.
        int n = 0;
        while (buf.hasRemaining() && n >= 0) {
            n = channel.read(buf, position + buf.position());
        }
        return buf.array();
    }

    private static ByteBuffer copyOf(ByteBuffer header) {
        ByteBuffer copy = ByteBuffer.allocate(header.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        copy.put(header.duplicate()).flip();
        return copy;
    }

    private NotASnapshotException refuse(String reason) {
        return new NotASnapshotException(file, reason);
    }

    /**
     * etcd's status computation: CRC-32C over every top-level bucket's name followed by each of its
     * keys and values; every key counts, and the last key of "key" is the highest revision.
     */
    private final class EtcdStatus {
        private final BucketWalker walker;
        final CRC32C hash = new CRC32C();
        final List<String> buckets = new ArrayList<>();
        long scheduledCompact = -1;
        /** The key bucket's header (with its inline page, if any), for a second walk over it. */
        ByteBuffer keyBucket;
        long finishedCompact = -1;
        long totalKeys;
        long revision;
        long consistentIndex;
        String storageVersion = "";
        boolean term;

        EtcdStatus(BucketWalker walker) {
            this.walker = walker;
        }

        void bucket(byte[] name, ByteBuffer header, boolean isBucket) throws IOException, Corrupt {
            String bucket = new String(name, StandardCharsets.UTF_8);
            if (!isBucket) {
                throw new Corrupt("top-level key '" + bucket + "' is not a bucket, which etcd never writes");
            }
            buckets.add(bucket);
            hash.update(name);
            if (bucket.equals(KEY_BUCKET)) {
                keyBucket = copyOf(header);
            }
            walker.walkBucket(header, bucket, (key, value, nested) -> {
                hash.update(key);
                if (nested) {
                    // bbolt's ForEach gives a nested bucket a nil value, so only its pages are walked.
                    walker.walkBucket(value, bucket + "/" + new String(key, StandardCharsets.UTF_8), this::reachOnly);
                } else {
                    hash.update(value.duplicate());
                }
                totalKeys++;
                if (bucket.equals(KEY_BUCKET)) {
                    revision = revision(key);
                } else if (bucket.equals(META_BUCKET) && Arrays.equals(key, SCHEDULED_COMPACT) && !nested) {
                    scheduledCompact = compactRevision(value);
                } else if (bucket.equals(META_BUCKET) && Arrays.equals(key, FINISHED_COMPACT) && !nested) {
                    finishedCompact = compactRevision(value);
                } else if (bucket.equals(META_BUCKET) && Arrays.equals(key, CONSISTENT_INDEX)) {
                    consistentIndex = consistentIndex(value);
                } else if (bucket.equals(META_BUCKET) && Arrays.equals(key, STORAGE_VERSION) && !nested) {
                    storageVersion = StandardCharsets.US_ASCII.decode(value.duplicate()).toString();
                } else if (bucket.equals(META_BUCKET) && Arrays.equals(key, TERM) && !nested) {
                    // etcd's DetectSchemaVersion takes a term of 0 as no term.
                    term = value.remaining() == Long.BYTES && value.duplicate().getLong() != 0;
                }
            });
        }

        private void reachOnly(byte[] key, ByteBuffer value, boolean nested) throws IOException, Corrupt {
            if (nested) {
                walker.walkBucket(value, "(nested)", this::reachOnly);
            }
        }

        private long revision(byte[] key) throws Corrupt {
            boolean tombstone = key.length == REVISION_KEY + 1 && key[REVISION_KEY] == 't';
            if ((key.length != REVISION_KEY && !tombstone) || key[8] != '_') {
                throw new Corrupt("bucket key: key of " + key.length + " bytes is not an etcd revision "
                        + "(8-byte main revision, '_', 8-byte sub revision)");
            }
            return ByteBuffer.wrap(key, 0, 8).getLong();
        }

        /** A compaction's revision as etcd stores it: a revision key whose main part is the revision. */
        private long compactRevision(ByteBuffer value) throws Corrupt {
            if (value.remaining() != REVISION_KEY) {
                throw new Corrupt("meta: a compaction revision of " + value.remaining() + " bytes, expected " + REVISION_KEY);
            }
            return value.duplicate().order(ByteOrder.BIG_ENDIAN).getLong();
        }

        private long consistentIndex(ByteBuffer value) throws Corrupt {
            if (value.remaining() != Long.BYTES) {
                throw new Corrupt("meta/consistent_index holds " + value.remaining() + " bytes, expected 8");
            }
            return value.duplicate().order(ByteOrder.BIG_ENDIAN).getLong();
        }
    }
}
