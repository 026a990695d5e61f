package dev.etcdrescue.snapshotformat.bolt;

/**
 * What {@code etcdctl snapshot status} reports about a snapshot, read by {@link BoltSnapshot}.
 *
 * @param revision the highest main revision in etcd's {@code key} bucket: the revision the restored cluster starts at
 * @param totalKeys every key of every bucket (etcdctl's "total keys"; more than the etcd keys a client sees)
 * @param totalSize the database's size in bytes: high-water mark times page size (etcdctl's "total size")
 * @param hash etcdctl's hash as its table prints it: CRC-32C in lower-case hex without leading zeros
 * @param consistentIndex etcd's {@code meta/consistent_index}: the raft index the data reflects (0 if unset)
 * @param hashTrailer whether etcd's 32-byte SHA-256 trailer follows the database (a snapshot, not a raw {@code db})
 * @param storageVersion etcd's {@code meta/storageVersion} ("3.6.0"), written by etcd 3.6 and later; empty when absent
 * @param term whether {@code meta/term} is set, which etcd 3.5 and later write (etcd's own test for a 3.5 backend)
 * @param compactRevision the last finished compaction's revision ({@code meta/finishedCompactRev}), -1 when never compacted
 * @param compactionPending a compaction was scheduled but had not finished when the file was written: the revisions
 *     it will remove are still here, and etcd's HashKV, which skips them, may differ from {@link BoltSnapshot#hashKv}
 */
public record SnapshotInfo(long revision, long totalKeys, long totalSize, String hash, long consistentIndex,
        boolean hashTrailer, String storageVersion, boolean term, long compactRevision, boolean compactionPending) {

    /**
     * The oldest etcd minor version that can have written this file, as etcd's {@code DetectSchemaVersion}
     * tells it (v3.6.14 {@code server/storage/schema/schema.go}): the storage version, else 3.5 when the
     * term is set; empty for a file of etcd 3.4 or older, which has neither.
     */
    public java.util.Optional<String> storageMinor() {
        if (!storageVersion.isEmpty()) {
            return java.util.Optional.of(storageVersion.replaceFirst("^(\\d+\\.\\d+).*$", "$1"));
        }
        return term ? java.util.Optional.of("3.5") : java.util.Optional.empty();
    }

    /** The hash as etcdctl's json output prints it: an unsigned 32-bit decimal. */
    public long hashValue() {
        return Long.parseLong(hash, 16);
    }
}
