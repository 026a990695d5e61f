package dev.etcdrescue.agent.transfer;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What BeginTransfer announced for a transfer id, kept beside the .part so a resume can be checked.
 *
 * @param skipSnapshotStatus the coordinator gets etcd's snapshot status of this file from another host
 *     (absent in announcements written before the field existed: false, the status is read)
 */
public record TransferAnnouncement(
        @JsonProperty("transfer_id") String transferId,
        @JsonProperty("total_size") long totalSize,
        @JsonProperty("sha256") String sha256,
        @JsonProperty("source") String source,
        @JsonProperty("operation_id") String operationId,
        @JsonProperty("skip_snapshot_status") boolean skipSnapshotStatus) {

    /** True when a .part written for {@code other} can be continued under this announcement. */
    public boolean sameFileAs(TransferAnnouncement other) {
        return totalSize == other.totalSize && sha256.equals(other.sha256);
    }

    /**
     * True when this announcement is the digest of the file a live transfer under the same id was streaming
     * ({@code earlier} announced neither size nor digest): the coordinator names a live transfer after one
     * snapshot, so its .part is a prefix of this file and can be continued; the digest checked at the end
     * catches any other case.
     */
    public boolean completes(TransferAnnouncement earlier) {
        return earlier.sha256.isEmpty() && earlier.totalSize == 0 && !sha256.isEmpty() && totalSize > 0
                && transferId.equals(earlier.transferId);
    }
}
