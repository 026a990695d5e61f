package dev.etcdrescue.agent.server;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.rpc.StatusMapper;
import dev.etcdrescue.agent.transfer.DataChannelReply;
import dev.etcdrescue.agent.transfer.ZeroCopyChunks;
import dev.etcdrescue.pki.DataChannelWire;
import dev.etcdrescue.pki.Role;
import dev.etcdrescue.pki.TlsStream;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.ProtocolException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection of the data channel: the TLS handshake, the caller checked exactly as the gRPC
 * interceptor checks an UploadSnapshot call (role, coordinator CN and key pins, CRL; refusals audited),
 * or a peer agent's RelaySnapshot call (OU=agent, then its grant on the first chunk),
 * then the chunks handed to the same {@link dev.etcdrescue.agent.transfer.UploadReceiver} as over gRPC
 * (header and claim, contiguous offsets, max_snapshot_bytes, free space every 64 MiB, fsync, digest
 * checked before the rename, relay grants), and its answer written back. A chunk's data is read into
 * this connection's TLS buffer and written and hashed from there: no copy between decryption, digest and
 * file.
 */
final class DataChannelSession {
    private static final Logger log = LoggerFactory.getLogger(DataChannelSession.class);
    private static final String UPLOAD = RescueAgentGrpc.getUploadSnapshotMethod().getFullMethodName();
    private static final String RELAY = RescueAgentGrpc.getRelaySnapshotMethod().getFullMethodName();
    /** A sender that neither sends nor reads for this long is gone: the upload stops, its .part kept. */
    static final Duration IDLE = Duration.ofSeconds(60);
    /** How long an early answer (a refusal) waits for the sender to stop, so that closing resets nothing. */
    private static final long DRAIN_MILLIS = 2000;

    /** What every session needs from the agent. */
    record Factory(SslContext tls, CoordinatorAuthInterceptor auth, RescueAgentService service, ZeroCopyChunks chunks) {
        void serve(SocketChannel connection) {
            new DataChannelSession(this, connection).run();
        }
    }

    private final Factory agent;
    private final SocketChannel connection;
    private final Object remote;
    /** Set once the last chunk is handed over: the sender is told this end works until the answer goes. */
    private WorkingBeat working;

    private DataChannelSession(Factory agent, SocketChannel connection) {
        this.agent = agent;
        this.connection = connection;
        this.remote = DataChannelServer.remote(connection);
    }

    private void run() {
        TlsStream stream;
        try {
            stream = TlsStream.handshake(connection, agent.tls().newEngine(ByteBufAllocator.DEFAULT),
                    DataChannelWire.MAX_READ_BYTES, IDLE);
        } catch (IOException | RuntimeException e) {
            log.info("data channel from {}: TLS handshake failed: {}", remote, e.getMessage());
            DataChannelServer.closeQuietly(connection);
            return;
        }
        try {
            Optional<X509Certificate> cert = peerCertificate(stream);
            // A peer agent (OU=agent) is admitted as RelaySnapshot admits it, and its first chunk must bring a grant.
            boolean peerAgent = cert.map(c -> CoordinatorAuthInterceptor.identity(c).role().orElse(null) == Role.AGENT).orElse(false);
            Optional<StatusRuntimeException> refused = agent.auth().refusal(peerAgent ? RELAY : UPLOAD, cert, remote);
            if (refused.isPresent()) {
                answer(stream, refused.get(), true);
                return;
            }
            receive(stream, CoordinatorAuthInterceptor.identity(cert.orElseThrow()).commonName(), peerAgent);
        } catch (IOException | RuntimeException e) {
            log.info("data channel from {}: {}", remote, e.getMessage());
        } finally {
            stopWorking();
            stream.closeQuietly();
        }
    }

    private void receive(TlsStream stream, String peer, boolean peerAgent) throws IOException {
        DataChannelReply reply = new DataChannelReply();
        StreamObserver<SnapshotChunk> receiver = peerAgent ? agent.service().relayFromDataChannel(reply, peer)
                : agent.service().uploadFromDataChannel(reply, peer);
        boolean last = false;
        try {
            DataChannelWire.readMagic(stream);
            while (!last && reply.awaitRequest(IDLE.toMillis())) {
                SnapshotChunk fields = SnapshotChunk.parseFrom(DataChannelWire.readBlock(stream, DataChannelWire.MAX_META_BYTES, "chunk fields"));
                if (!fields.getData().isEmpty()) {
                    throw new ProtocolException("chunk data belongs after the chunk's fields, not in them");
                }
                int length = stream.read(4).getInt();
                if (length < 0 || length > DataChannelWire.MAX_DATA_BYTES) {
                    throw new ProtocolException("chunk data of " + length + " bytes: at most " + DataChannelWire.MAX_DATA_BYTES);
                }
                last = receiveInPieces(stream, receiver, reply, fields, length);
            }
        } catch (ProtocolException | InvalidProtocolBufferException malformed) {
            reply.cancel();
            answer(stream, StatusMapper.toException(AgentException.invalidArgument("malformed data channel stream: "
                    + malformed.getMessage())), true);
            return;
        } catch (IOException broken) {
            log.info("data channel from {} broke off: {}", remote, broken.getMessage());
            reply.cancel();
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            reply.cancel();
            return;
        }
        if (!reply.answer().isDone() && !last) {
            log.info("data channel from {}: no room for the next chunk for {} (the relay's next hop?): stopped", remote, IDLE);
            reply.cancel();
            return;
        }
        try {
            TransferResult result = reply.answer().get();
            stopWorking();
            answer(stream, result, !last);
        } catch (ExecutionException failed) {
            stopWorking();
            answer(stream, failed.getCause(), !last);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Hands one chunk's data to the receiver in pieces of {@link DataChannelWire#PIECE_BYTES} as they are
     * decrypted, each written, hashed and copied while it is still in the CPU's cache; the chunk's header
     * and relay grant go with its first piece, last and the final size and digest with its last. False when the
     * receiver answered before the last piece (a refusal).
     */
    private boolean receiveInPieces(TlsStream stream, StreamObserver<SnapshotChunk> receiver, DataChannelReply reply,
                                    SnapshotChunk fields, int length) throws IOException, InterruptedException {
        long offset = fields.getOffset();
        int left = length;
        boolean first = true;
        do {
            if (!first && !reply.awaitRequest(IDLE.toMillis())) {
                return false;
            }
            int n = Math.min(left, DataChannelWire.PIECE_BYTES);
            SnapshotChunk.Builder piece = n == left ? fields.toBuilder() : SnapshotChunk.newBuilder().setTransferId(fields.getTransferId());
            if (!first) {
                piece.clearHeader().clearRelay();
            } else {
                // The chunk's first piece is what the receiver admits the stream by: the header, and a peer's grant.
                if (fields.hasHeader()) {
                    piece.setHeader(fields.getHeader());
                }
                if (fields.hasRelay()) {
                    piece.setRelay(fields.getRelay());
                }
            }
            SnapshotChunk chunk = piece.setOffset(offset).build();
            agent.chunks().hold(chunk, List.of(stream.read(n)));
            if (chunk.getLast()) {
                working = WorkingBeat.start(stream);
            }
            try {
                receiver.onNext(chunk);
            } finally {
                agent.chunks().release(chunk);
            }
            offset += n;
            left -= n;
            first = false;
        } while (left > 0);
        return fields.getLast();
    }

    private void stopWorking() {
        if (working != null) {
            working.close();
        }
    }

    private void answer(TlsStream stream, TransferResult result, boolean early) throws IOException {
        DataChannelWire.writeReply(stream, DataChannelWire.REPLY_RESULT, result.toByteArray());
        finish(stream, early);
    }

    private void answer(TlsStream stream, Throwable failure, boolean early) throws IOException {
        com.google.rpc.Status status = StatusProto.fromThrowable(failure);
        if (status == null) {
            Status plain = Status.fromThrowable(failure);
            status = com.google.rpc.Status.newBuilder().setCode(plain.getCode().value())
                    .setMessage(plain.getDescription() == null ? "" : plain.getDescription()).build();
        }
        DataChannelWire.writeReply(stream, DataChannelWire.REPLY_STATUS, status.toByteArray(),
                DataChannelReply.failedHop(failure).getBytes(StandardCharsets.UTF_8));
        finish(stream, early);
    }

    /** An answer before the last chunk: the sender is still sending, and reads it once it checks between chunks. */
    private static void finish(TlsStream stream, boolean early) {
        if (early) {
            stream.discardIncoming(DRAIN_MILLIS);
        }
    }

    private static Optional<X509Certificate> peerCertificate(TlsStream stream) {
        try {
            Certificate[] chain = stream.session().getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x509 ? Optional.of(x509) : Optional.empty();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }
}
