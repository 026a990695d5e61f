package dev.etcdrescue.coordinator.report;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The snapshot a run restored, as the report and the journal keep it: what the file is (snapshot phase)
 * and how it reached the hosts (distribute phase, null before).
 *
 * @param origin where it came from: the source member's URL or the file named in the inventory
 * @param storageVersion the etcd minor version that wrote it, as read from its meta bucket ("3.4 or older")
 * @param coordinatorBytesSent the chunk bytes the coordinator wrote to agent streams
 * @param relayFailure why a relay fell back to direct sends, when it did
 * @param kept whether the run's snapshot file is still there once the run ended (null while it runs)
 * @param retention what became of that file, in a sentence for the operator
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SnapshotSummary(String origin, String path, long size, String sha256, String hashTrailer, long revision,
                              long totalKeys, String etcdHash, long consistentIndex, String storageVersion,
                              String distribution, Long coordinatorBytesSent, String relayFailure, Boolean kept,
                              String retention) {

    public SnapshotSummary distributed(String mode, long bytesSent, String relayFailure) {
        return new SnapshotSummary(origin, path, size, sha256, hashTrailer, revision, totalKeys, etcdHash, consistentIndex,
                storageVersion, mode, bytesSent, relayFailure, kept, retention);
    }

    public SnapshotSummary settled(boolean fileKept, String what) {
        return new SnapshotSummary(origin, path, size, sha256, hashTrailer, revision, totalKeys, etcdHash, consistentIndex,
                storageVersion, distribution, coordinatorBytesSent, relayFailure, fileKept, what);
    }
}
