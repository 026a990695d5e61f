package dev.etcdrescue.agent.server;

import dev.etcdrescue.agent.failpoint.Failpoints;
import dev.etcdrescue.agent.rpc.StatusMapper;
import dev.etcdrescue.proto.v1.OperationHeader;
import io.grpc.Context;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.ExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs RPC bodies on the bounded blocking executor (never on a gRPC event loop) and does what every
 * mutating RPC needs around them: header and claim checks, phase updates, the audit line, and one
 * reply or one mapped status.
 */
public final class RpcRunner {
    private static final Logger log = LoggerFactory.getLogger(RpcRunner.class);

    /** An RPC body; may throw anything, StatusMapper decides what the client sees. */
    @FunctionalInterface
    public interface Work<T> {
        T run() throws Exception;
    }

    private final HeaderValidator headers;
    private final ClaimManager claims;
    private final AuditLog audit;
    private final StatusTracker status;
    private final PhaseMachine phases;
    private final ExecutorService blocking;
    private final Failpoints failpoints;
    /**
     * Claimed mutations run one at a time: they move and write the same paths, and the coordinator
     * sends them in order anyway; a concurrent duplicate (a retry racing its original) waits here.
     */
    private final Object mutationLock = new Object();

    public RpcRunner(HeaderValidator headers, ClaimManager claims, AuditLog audit, StatusTracker status,
                     PhaseMachine phases, ExecutorService blocking, Failpoints failpoints) {
        this.headers = headers;
        this.claims = claims;
        this.audit = audit;
        this.status = status;
        this.phases = phases;
        this.blocking = blocking;
        this.failpoints = failpoints;
    }

    /** A read-only RPC: no header, no audit. */
    public <T> void read(StreamObserver<T> out, Work<T> work) {
        submit(out, work, null);
    }

    /**
     * A mutating RPC: the header must be valid and (when {@code needsClaim}) its operation must hold the
     * claim. Claimed work runs under the mutation lock with the operation's phase loaded; the work
     * moves the phase itself through {@link #phases()}, because whether a call changes anything (and
     * so whether it moves the phase) is only known inside it.
     */
    public <T> void mutate(String rpc, boolean hasHeader, OperationHeader header, boolean needsClaim,
                           StreamObserver<T> out, Work<T> work) {
        String peer = PeerIdentity.currentCommonName();
        try {
            headers.check(hasHeader, header);
            if (needsClaim) {
                claims.requireHeld(header);
            }
        } catch (RuntimeException refused) {
            record(peer, rpc, header, StatusMapper.describe(refused));
            out.onError(StatusMapper.toException(refused));
            return;
        }
        // The failpoint is passed before the mutation lock: a paused call holds a worker, not the agent.
        Work<T> serialized = needsClaim ? () -> {
            failpoints.hit(Failpoints.RPC + rpc);
            synchronized (mutationLock) {
                claims.requireHeld(header);
                phases.sync(header.getOperationId());
                return work.run();
            }
        } : () -> {
            failpoints.hit(Failpoints.RPC + rpc);
            return work.run();
        };
        submit(out, serialized, new Outcome() {
            @Override
            public void succeeded() {
                record(peer, rpc, header, "OK");
            }

            @Override
            public void failed(Throwable failure) {
                record(peer, rpc, header, StatusMapper.describe(failure));
            }
        });
    }

    /** A read-only RPC that names an operation: the header is checked, nothing is audited or claimed. */
    public <T> void inspect(boolean hasHeader, OperationHeader header, StreamObserver<T> out, Work<T> work) {
        try {
            headers.check(hasHeader, header);
        } catch (RuntimeException refused) {
            out.onError(StatusMapper.toException(refused));
            return;
        }
        submit(out, work, null);
    }

    /** Audit line for a streaming RPC that manages its own reply. */
    public void record(String peer, String rpc, OperationHeader header, String result) {
        try {
            audit.record(peer, rpc, header.getClusterName(), header.getOperationId(), result);
        } catch (RuntimeException e) {
            log.error("audit log write failed for {} {}: {}", rpc, header.getOperationId(), e.getMessage());
        }
    }

    public HeaderValidator headers() {
        return headers;
    }

    public ClaimManager claims() {
        return claims;
    }

    public StatusTracker status() {
        return status;
    }

    public PhaseMachine phases() {
        return phases;
    }

    public Failpoints failpoints() {
        return failpoints;
    }

    private interface Outcome {
        void succeeded();

        void failed(Throwable failure);
    }

    private <T> void submit(StreamObserver<T> out, Work<T> work, Outcome outcome) {
        Runnable task = Context.current().wrap(() -> {
            T reply;
            try {
                reply = work.run();
            } catch (Throwable failure) {
                if (outcome != null) {
                    outcome.failed(failure);
                }
                out.onError(StatusMapper.toException(failure));
                return;
            }
            if (outcome != null) {
                outcome.succeeded();
            }
            if (out instanceof ServerCallStreamObserver<T> call && call.isCancelled()) {
                log.info("the client gave up before the reply; the work was done and is recorded");
                return;
            }
            out.onNext(reply);
            out.onCompleted();
        });
        try {
            blocking.execute(task);
        } catch (RuntimeException rejected) {
            if (outcome != null) {
                outcome.failed(rejected);
            }
            out.onError(StatusMapper.toException(rejected));
        }
    }
}
