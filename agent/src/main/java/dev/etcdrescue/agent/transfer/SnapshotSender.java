package dev.etcdrescue.agent.transfer;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.spec.Grammar;
import dev.etcdrescue.proto.v1.ErrorReason;
import dev.etcdrescue.proto.v1.HopOutcome;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.RelayGrant;
import dev.etcdrescue.proto.v1.SendSnapshotRequest;
import dev.etcdrescue.proto.v1.SendSnapshotResult;
import io.grpc.Context;
import io.grpc.Deadline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SendSnapshot: a snapshot staged on this agent goes to the next hops its grant names (the grant came
 * with BeginTransfer and is checked there): one stream per hop at once for a fan-out (over the hop's
 * data channel where the coordinator named its port, else RelaySnapshot),
 * or one to the first hop of a chain, which relays it on ({@link RelayTee}). Every hop verifies the
 * digest the coordinator announced to it. The answer lists each hop's outcome: a hop that failed is a
 * value naming host and reason, so the coordinator can tell the operator and send to that hop again.
 */
public final class SnapshotSender {
    private static final Logger log = LoggerFactory.getLogger(SnapshotSender.class);
    /** Deadline of the whole send when the caller set none: the grant's validity bounds it anyway. */
    private static final long DEFAULT_BUDGET_MS = TimeUnit.HOURS.toMillis(1);

    private final TransferService transfers;

    public SnapshotSender(TransferService transfers) {
        this.transfers = transfers;
    }

    /** Sends to every hop, then answers with each hop's outcome; the receivers' own status shows their progress. */
    public SendSnapshotResult send(SendSnapshotRequest request, OperationHeader header) throws Exception {
        String id = Grammar.identifier(request.getTransferId(), "transfer_id");
        Path staged = transfers.staging().stagedFile(id);
        if (!Files.isRegularFile(staged)) {
            throw AgentException.failedPrecondition(ErrorReason.NOT_STAGED, "transfer " + id + " is not staged on this agent ("
                    + staged + " is missing): take the snapshot again");
        }
        RelayGrant grant = transfers.relays().own(id)
                .filter(g -> g.getOperationId().equals(header.getOperationId()) && g.getNextHopsCount() > 0)
                .orElseThrow(() -> AgentException.failedPrecondition(ErrorReason.TRANSFER_NOT_ANNOUNCED, "transfer " + id
                        + " was not announced to this agent with a grant naming next hops: call BeginTransfer with one first"));
        RelayDialer dialer = transfers.dialer().orElseThrow(() -> AgentException.unimplemented(
                "this agent has no client TLS for sending to other agents"));
        String sha256 = transfers.announcement(id).map(TransferAnnouncement::sha256).orElse("");
        long size = Files.size(staged);
        List<String> hops = grant.getFanOut() ? grant.getNextHopsList() : List.of(grant.getNextHops(0));
        Deadline deadline = deadline(grant);
        Context call = Context.current();
        long t0 = System.nanoTime();
        log.info("transfer {}: sending {} ({} bytes) to {}{}", id, staged, size, hops, grant.getFanOut() ? " at once (fan-out)"
                : ", which relays it to " + grant.getNextHopsList().subList(1, grant.getNextHopsCount()));
        List<HopStream> streams = new ArrayList<>();
        for (String hop : hops) {
            long from = grant.getFanOut() ? request.getResumeOffsetsOrDefault(hop, 0L) : 0L;
            streams.add(new HopStream(hop, dialer, staged, size, sha256, from, transfers.relays().dataPort(id, hop), header, grant,
                    deadline, call::isCancelled));
        }
        ExecutorService pool = Executors.newFixedThreadPool(hops.size(), r -> {
            Thread t = new Thread(r, "send-snapshot");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<HopOutcome>> outcomes = new ArrayList<>();
            for (HopStream stream : streams) {
                outcomes.add(pool.submit(stream::run));
            }
            SendSnapshotResult.Builder result = SendSnapshotResult.newBuilder();
            for (Future<HopOutcome> outcome : outcomes) {
                try {
                    result.addHops(outcome.get());
                } catch (ExecutionException e) {
                    throw AgentException.internal("sending transfer " + id + " failed: " + e.getCause(), e.getCause());
                }
            }
            result.setDurationMs(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            result.getHopsList().forEach(h -> log.info("transfer {}: hop {} {}", id, h.getEndpoint(),
                    h.getOk() ? "verified the file (sent over " + h.getTransport() + ")"
                            : "failed at " + h.getFailedHop() + ": " + h.getCode() + " " + h.getMessage()));
            return result.build();
        } finally {
            pool.shutdownNow();
        }
    }

    /** The caller's deadline, no later than the grant's end. */
    private static Deadline deadline(RelayGrant grant) {
        Deadline until = Deadline.after(Math.max(1, grant.getValidUntilUnixMs() - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
        Deadline caller = Context.current().getDeadline();
        Deadline own = caller != null ? caller : Deadline.after(DEFAULT_BUDGET_MS, TimeUnit.MILLISECONDS);
        return own.minimum(until);
    }
}
