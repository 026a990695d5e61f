package dev.etcdrescue.agent.backup;

import java.util.List;

/**
 * What one backup holds and how it was checked, signed by the agent that took it and written beside the
 * file, last: a backup without its manifest was never finished.
 *
 * @param format       this layout's version
 * @param id           unique per backup: the cluster, the time and the revision
 * @param cluster      the name the backup is listed under (agent.yaml backup.cluster, else the cluster id)
 * @param clusterId    etcd's cluster id, hex
 * @param members      the member list when it was taken
 * @param revision     the snapshot's revision
 * @param compactRevision the last compaction in the snapshot, -1 when none
 * @param hashKv       etcd's HashKV at {@code revision}: computed from the file, and equal to what the member answered
 * @param totalKeys    etcdctl snapshot status's total keys
 * @param etcdVersion  the server version of the member it came from
 * @param snapshotSize the snapshot's size before compression, with its SHA-256 trailer
 * @param snapshotSha256 SHA-256 of the uncompressed snapshot
 * @param file         the stored file's name, beside the manifest
 * @param fileSize     its size as stored
 * @param fileSha256   its SHA-256 as stored (what a copy is checked against before it is read)
 * @param compression  {@code zstd}
 * @param takenAt      when the snapshot was taken (ISO-8601, UTC)
 * @param takenBy      the agent's host name
 * @param slot         the schedule's slot: epoch milliseconds divided by the interval; -1 when taken on demand
 * @param copyFrom     on a copy a peer pushed: the host it came from (the taker); null on the taker's own
 * @param copiedAt     on such a copy: when it arrived and read back whole (ISO-8601, UTC); null otherwise
 */
public record BackupManifest(int format, String id, String cluster, String clusterId, List<Member> members, long revision,
                             long compactRevision, long hashKv, long totalKeys, String etcdVersion, long snapshotSize,
                             String snapshotSha256, String file, long fileSize, String fileSha256, String compression,
                             String takenAt, String takenBy, long slot, String copyFrom, String copiedAt) {
    public static final int FORMAT = 1;
    /** The DSSE payload type of a signed manifest. */
    public static final String PAYLOAD_TYPE = "application/vnd.etcd-rescue.backup-manifest+json";

    /** This manifest as a copy's: the same backup, marked as held by another host since {@code at}. */
    public BackupManifest asCopy(String from, String at) {
        return new BackupManifest(format, id, cluster, clusterId, members, revision, compactRevision, hashKv, totalKeys, etcdVersion,
                snapshotSize, snapshotSha256, file, fileSize, fileSha256, compression, takenAt, takenBy, slot, from, at);
    }

    /** True on a copy a peer pushed here. */
    public boolean isCopy() {
        return copyFrom != null;
    }

    public record Member(String id, String name, List<String> peerUrls, List<String> clientUrls) {}
}
