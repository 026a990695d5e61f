package dev.etcdrescue.agent.transfer;

import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.TransferResult;

/** How an upload stream reaches the server's checks, status and audit without depending on them. */
public interface UploadCallbacks {
    /**
     * Checks the header and the claim; throws {@link dev.etcdrescue.agent.AgentException} to refuse.
     * Returns the header the stream goes on with (a relay's carries no host name: this agent's is filled in).
     */
    OperationHeader admit(OperationHeader header);

    void progress(OperationHeader header, long received, long expected);

    /** Called exactly once per stream that got past admission; {@code failure} is null on success. */
    void finished(OperationHeader header, TransferResult result, Throwable failure);

    /**
     * Called once for a stream refused before admission (no header, a missing or foreign relay grant, a
     * refused header), so that the refusal is audited like the interceptor's; {@code header} is the one
     * the stream sent, unchecked, or the default instance.
     */
    void refused(OperationHeader header, Throwable failure);
}
