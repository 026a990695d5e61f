package dev.etcdrescue.coordinator.snapshot.bolt;

/**
 * What {@code etcdctl snapshot status} reports about a snapshot, read by {@link BoltSnapshot}.
 *
 * @param revision the highest main revision in etcd's {@code key} bucket: the revision the restored cluster starts at
 * @param totalKeys every key of every bucket (etcdctl's "total keys"; more than the etcd keys a client sees)
 * @param totalSize the database's size in bytes: high-water mark times page size (etcdctl's "total size")
 * @param hash etcdctl's hash as its table prints it: CRC-32C in lower-case hex without leading zeros
 * @param consistentIndex etcd's {@code meta/consistent_index}: the raft index the data reflects (0 if unset)
 * @param hashTrailer whether etcd's 32-byte SHA-256 trailer follows the database (a snapshot, not a raw {@code db})
 */
public record SnapshotInfo(long revision, long totalKeys, long totalSize, String hash, long consistentIndex,
        boolean hashTrailer) {
    /** The hash as etcdctl's json output prints it: an unsigned 32-bit decimal. */
    public long hashValue() {
        return Long.parseLong(hash, 16);
    }
}
