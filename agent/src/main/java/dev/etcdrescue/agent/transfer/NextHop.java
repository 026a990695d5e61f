package dev.etcdrescue.agent.transfer;

import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.Status;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The stream of chunks from this agent to one next hop, of a relay chain or a fan-out from the source:
 * over that agent's data channel when the coordinator named its port (decision 0023), else RelaySnapshot.
 * {@link #ready()} tells the caller whether it may queue more, so no agent runs far ahead of its next
 * hop; the hop's answer, or the failure naming the hop deepest down the chain, completes {@link #result()}.
 */
interface NextHop {
    /** Trailer naming the agent (host:port) whose relay hop failed, passed up the chain unchanged. */
    Metadata.Key<String> FAILED_HOP = Metadata.Key.of("etcd-rescue-relay-failed-hop", Metadata.ASCII_STRING_MARSHALLER);

    /** The hop, host:port of its gRPC endpoint. */
    String hop();

    /** How the chunks travel, for logs and the coordinator's report. */
    String transport();

    /** False once the hop has answered or failed: the caller then goes on alone. */
    boolean alive();

    boolean ready();

    void send(SnapshotChunk chunk);

    /** The last chunk was sent: the hop's answer completes {@link #result()}. */
    void finish();

    void cancel(String why);

    CompletableFuture<TransferResult> result();

    /** The hop to name when this stream failed: a deeper hop when the next one already named it. */
    default String failedHop(Throwable failure) {
        Metadata trailers = Status.trailersFromThrowable(failure);
        String deeper = trailers == null ? null : trailers.get(FAILED_HOP);
        return deeper != null && !deeper.isEmpty() ? deeper : hop();
    }

    /**
     * The stream to {@code hop}: its data channel on {@code dataPort} when that is above 0 and can be
     * reached, else RelaySnapshot (a firewall that lets only the gRPC port through, an agent without a
     * data channel).
     *
     * @param onReady called when the hop can take more, or has failed, on another thread
     */
    static NextHop open(String hop, RelayDialer dialer, int dataPort, Deadline deadline, Runnable onReady) throws IOException {
        if (dataPort > 0) {
            try {
                return DataChannelHop.open(hop, dialer.sslContext(), dataPort, deadline, onReady);
            } catch (IOException e) {
                Log.LOG.info("next hop {}: data channel port {} not reachable ({}); sending over RelaySnapshot instead", hop,
                        dataPort, e.getMessage());
            }
        }
        return RelayForwarder.open(hop, dialer.dial(hop), deadline, onReady);
    }

    /** Holder of the interface's logger (an interface cannot have a private static field). */
    final class Log {
        static final Logger LOG = LoggerFactory.getLogger(NextHop.class);

        private Log() {}
    }
}
