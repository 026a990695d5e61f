package dev.etcdrescue.agent.transfer;

import com.google.protobuf.ByteString;
import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.RelayGrant;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import io.grpc.Deadline;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay side of an upload: every chunk this agent has written goes on to the next hop of its grant
 * ({@link NextHop}: its data channel, or RelaySnapshot), with a bound on how far ahead of that hop the sender may run. Not thread-safe: the
 * {@link UploadReceiver} that owns it calls it under its own lock, the next hop's readiness included.
 */
final class RelayTee {
    private static final Logger log = LoggerFactory.getLogger(RelayTee.class);
    /**
     * Chunks a relaying agent may queue for its next hop beyond its readiness (which turns false as soon
     * as one chunk waits): enough to keep the next hop busy across thread hand-offs, and a bound on what
     * queues in this agent's memory (with 1 MiB chunks, 4 MiB).
     */
    static final int CHUNKS_AHEAD = 4;

    private final NextHop forwarder;
    private final RelayGrant grant;
    private final OperationHeader header;
    private boolean forwardedFirst;
    /** Chunks sent on since the next hop last reported ready (its queue drained). */
    private int sentSinceReady;

    private RelayTee(NextHop forwarder, RelayGrant grant, OperationHeader header) {
        this.forwarder = forwarder;
        this.grant = grant;
        this.header = header;
    }

    /**
     * The tee for {@code transferId} when BeginTransfer announced it with a grant naming a next hop;
     * empty otherwise (this agent is the end of the chain, or no relay).
     *
     * @param deadline the caller's deadline, which the next hop's stream inherits (null: the grant's)
     * @param onReady called when the next hop can take more, on a gRPC thread
     */
    static Optional<RelayTee> open(TransferService transfers, String transferId, OperationHeader header, Deadline deadline,
                                   Runnable onReady) throws IOException {
        Optional<RelayGrant> grant = transfers.relays().own(transferId)
                .filter(g -> g.getOperationId().equals(header.getOperationId()) && g.getNextHopsCount() > 0);
        if (grant.isEmpty()) {
            return Optional.empty();
        }
        RelayDialer dialer = transfers.dialer().orElseThrow(() -> AgentException.unimplemented(
                "this agent has no client TLS for relaying: upload to every agent directly"));
        String hop = grant.get().getNextHops(0);
        Deadline until = Deadline.after(Math.max(1, grant.get().getValidUntilUnixMs() - System.currentTimeMillis()),
                TimeUnit.MILLISECONDS);
        NextHop forwarder = NextHop.open(hop, dialer, transfers.relays().dataPort(transferId, hop),
                deadline == null ? until : deadline.minimum(until), onReady);
        log.info("transfer {}: relaying every chunk on to {} over {}", transferId, hop, forwarder.transport());
        return Optional.of(new RelayTee(forwarder, grant.get(), header));
    }

    /** Sends the chunk on, its data given as the views this agent wrote (copied: they are released after onNext). */
    void forward(SnapshotChunk chunk, List<ByteBuffer> payload) {
        if (!forwarder.alive()) {
            return;
        }
        ByteString data = ByteString.EMPTY;
        for (ByteBuffer part : payload) {
            data = data.concat(ByteString.copyFrom(part.duplicate()));
        }
        SnapshotChunk.Builder next = chunk.toBuilder().clearHeader().clearRelay().setData(data);
        if (!forwardedFirst) {
            // The next agent fills in its own host name: this one does not know it, the signed grant names its address.
            next.setHeader(header.toBuilder().clearHostName()).setRelay(grant);
            forwardedFirst = true;
        }
        forwarder.send(next.build());
        sentSinceReady = forwarder.ready() ? 0 : sentSinceReady + 1;
    }

    /** Whether the sender may be asked for the next chunk now, or only once the next hop is ready. */
    boolean canTakeMore() {
        return forwarder.ready() || sentSinceReady < CHUNKS_AHEAD;
    }

    /** The next hop reported ready: its queue drained. */
    void readyAgain() {
        sentSinceReady = 0;
    }

    void cancel(String why) {
        forwarder.cancel(why);
    }

    /** This agent's file is whole: ends the next hop's stream; the future holds the rest of the chain's answer. */
    CompletableFuture<TransferResult> finish() {
        forwarder.finish();
        return forwarder.result();
    }

    /** The hop a failure of the chain came from, for the relay-failed-hop trailer. */
    String failedHop(Throwable failure) {
        return forwarder.failedHop(failure);
    }
}
