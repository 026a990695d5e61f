package dev.etcdrescue.coordinator.snapshot;

import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.proto.v1.DownloadSnapshotRequest;
import dev.etcdrescue.proto.v1.LocalEtcdAccess;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A snapshot of one member taken by the agent on its host (DownloadSnapshot of the local member) and
 * streamed here: under a claim of its own operation, into {@code FILE.part}, checked against the
 * agent's SHA-256 and size, fsynced, then given its name without ever replacing an existing file.
 */
public final class AgentSnapshotDownload {
    private static final Logger log = LoggerFactory.getLogger(AgentSnapshotDownload.class);
    /** Claims are short: DownloadSnapshot checks the claim when it starts, and the claim is released right after. */
    private static final Duration CLAIM_TTL = Duration.ofMinutes(2);
    private static final Duration SHORT_CALL = Duration.ofSeconds(30);
    private static final int CHUNK = 1 << 20;

    private final AgentClient client;
    private final String agent;

    /** @param agent how the agent is named in messages (host name and address) */
    public AgentSnapshotDownload(AgentClient client, String agent) {
        this.client = client;
        this.agent = agent;
    }

    /**
     * Claims the agent, downloads into {@code target.part}, verifies, renames, releases the claim.
     *
     * @param progress told the bytes received so far after every chunk
     * @throws UserException exit 2 when {@code target} exists, exit 1 when the agent or etcd refused or failed
     */
    public SnapshotFile save(OperationHeader header, LocalEtcdAccess access, Path target, Duration timeout,
                             LongConsumer progress) throws IOException {
        Path part = target.resolveSibling(target.getFileName() + ".part");
        claim(header);
        SnapshotFile file;
        try {
            file = download(header, access, part, timeout, progress);
        } finally {
            release(header);
        }
        publish(part, target);
        return new SnapshotFile(target, file.size(), file.sha256(), file.trailer());
    }

    private void claim(OperationHeader header) {
        try {
            client.claim(header, CLAIM_TTL);
        } catch (StatusRuntimeException e) {
            throw new UserException(FailureKind.PHASE_FAILED, "cannot claim the agent " + agent + ": " + describe(e), e);
        }
    }

    /** Never throws: the claim also expires by itself, and the snapshot's outcome matters more. */
    private void release(OperationHeader header) {
        try {
            client.releaseClaim(header, SHORT_CALL);
        } catch (StatusRuntimeException e) {
            log.warn("releasing the claim on {} failed ({}); it expires within {}", agent, describe(e), CLAIM_TTL);
        }
    }

    private SnapshotFile download(OperationHeader header, LocalEtcdAccess access, Path part, Duration timeout,
                                  LongConsumer progress) throws IOException {
        DownloadSnapshotRequest request = DownloadSnapshotRequest.newBuilder().setHeader(header).setChunkSize(CHUNK)
                .setLocal(access).build();
        // Cancelled when we stop reading early (a bad chunk, a local write error): the agent then stops
        // sending and removes its temporary file instead of streaming into a call nobody reads.
        try (Context.CancellableContext call = Context.current().withCancellation()) {
            Context previous = call.attach();
            try {
                Iterator<SnapshotChunk> chunks = client.downloadSnapshot(request, timeout);
                // The first chunk comes once the agent's etcdctl is done: a refusal or etcd's failure arrives
                // here, before FILE.part exists.
                chunks.hasNext();
                return receive(chunks, part, progress);
            } catch (StatusRuntimeException e) {
                boolean partial = Files.exists(part);
                throw new UserException(FailureKind.PHASE_FAILED, "the agent " + agent + " could not take the snapshot of "
                        + access.getEndpoint() + ": " + describe(e) + (partial ? "; the partial file is " + part : ""), e);
            } finally {
                call.detach(previous);
            }
        }
    }

    private SnapshotFile receive(Iterator<SnapshotChunk> chunks, Path part, LongConsumer progress) throws IOException {
        return ReceivedSnapshot.receive(agent, chunks, part, progress);
    }

    private static void publish(Path part, Path target) throws IOException {
        ReceivedSnapshot.publish(part, target);
    }

    private String describe(StatusRuntimeException e) {
        return switch (e.getStatus().getCode()) {
            case DEADLINE_EXCEEDED -> "no answer in time (" + e.getStatus().getDescription() + "): raise --timeout for a large database";
            case UNIMPLEMENTED -> e.getStatus().getDescription() + " (upgrade the agent on that host)";
            default -> AgentError.describe(e, agent);
        };
    }
}
