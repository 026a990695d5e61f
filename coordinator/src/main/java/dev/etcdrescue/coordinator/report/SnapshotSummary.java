package dev.etcdrescue.coordinator.report;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The snapshot a run restored, as the report and the journal keep it: what the file is (snapshot phase)
 * and how it reached the hosts (distribute phase, null before).
 *
 * @param origin where it came from: the source member's URL or the file named in the inventory
 * @param storageVersion the etcd minor version that wrote it, as read from its meta bucket ("3.4 or older")
 * @param coordinatorBytesSent the bytes of the messages the coordinator sent to agents for the snapshot (snapshot and
 *     distribute phases, gRPC's wire size: TLS and HTTP/2 framing add a little)
 * @param relayFailure why a relay fell back to direct sends, when it did
 * @param kept whether the run's snapshot file is still there once the run ended (null while it runs)
 * @param retention what became of that file, in a sentence for the operator
 * @param coordinatorBytesReceived the same received: from agents, and from etcd when the coordinator took the snapshot
 * @param coordinatorWireBytesRatio sent plus received over the snapshot's size: about 0 when the source's agent carries
 *     the bytes, 1 + the hosts it sends to when the coordinator takes and sends it
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SnapshotSummary(String origin, String path, long size, String sha256, String hashTrailer, long revision,
                              long totalKeys, String etcdHash, long consistentIndex, String storageVersion,
                              String distribution, Long coordinatorBytesSent, String relayFailure, Boolean kept,
                              String retention, Long coordinatorBytesReceived, Double coordinatorWireBytesRatio) {

    /** Without the coordinator's received bytes and ratio, which distribute adds. */
    public SnapshotSummary(String origin, String path, long size, String sha256, String hashTrailer, long revision, long totalKeys,
                           String etcdHash, long consistentIndex, String storageVersion, String distribution,
                           Long coordinatorBytesSent, String relayFailure, Boolean kept, String retention) {
        this(origin, path, size, sha256, hashTrailer, revision, totalKeys, etcdHash, consistentIndex, storageVersion, distribution,
                coordinatorBytesSent, relayFailure, kept, retention, null, null);
    }

    public SnapshotSummary distributed(String mode, long bytesSent, long bytesReceived, String relayFailure) {
        double ratio = Math.round((bytesSent + bytesReceived) / (double) Math.max(1, size) * 1e6) / 1e6;
        return new SnapshotSummary(origin, path, size, sha256, hashTrailer, revision, totalKeys, etcdHash, consistentIndex,
                storageVersion, mode, bytesSent, relayFailure, kept, retention, bytesReceived, ratio);
    }

    public SnapshotSummary settled(boolean fileKept, String what) {
        return new SnapshotSummary(origin, path, size, sha256, hashTrailer, revision, totalKeys, etcdHash, consistentIndex,
                storageVersion, distribution, coordinatorBytesSent, relayFailure, fileKept, what, coordinatorBytesReceived,
                coordinatorWireBytesRatio);
    }
}
