package dev.etcdrescue.agent.transfer;

import com.fasterxml.jackson.annotation.JsonProperty;

/** What BeginTransfer announced for a transfer id, kept beside the .part so a resume can be checked. */
public record TransferAnnouncement(
        @JsonProperty("transfer_id") String transferId,
        @JsonProperty("total_size") long totalSize,
        @JsonProperty("sha256") String sha256,
        @JsonProperty("source") String source,
        @JsonProperty("operation_id") String operationId) {

    /** True when a .part written for {@code other} can be continued under this announcement. */
    public boolean sameFileAs(TransferAnnouncement other) {
        return totalSize == other.totalSize && sha256.equals(other.sha256);
    }
}
