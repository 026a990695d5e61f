package dev.etcdrescue.agent.transfer;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.etcdrescue.pki.DataChannelWire;
import dev.etcdrescue.pki.TlsStream;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * A next hop's data channel (decision 0023), as the coordinator's uploads use it: this agent's own
 * certificate, the hop's checked against the address dialled (its SAN) and the fleet CA, the same framing.
 * The hop's agent admits the stream as it admits RelaySnapshot (an OU=agent caller, then the grant in
 * the first chunk). One thread of its own writes the queued chunks, so the caller (the receiving thread
 * of a relay, or a fan-out's pump) never blocks on the network; {@link #ready()} is true once the queue
 * is empty, the same signal gRPC's {@code isReady} gives RelaySnapshot's callers.
 */
final class DataChannelHop implements NextHop {
    /** The hop's agent stops a stream idle for 60 s; this side waits as long for its answer. */
    private static final Duration IDLE = Duration.ofSeconds(60);
    private static final SnapshotChunk END = SnapshotChunk.newBuilder().setTransferId("end").build();

    private final String hop;
    private final TlsStream stream;
    private final Deadline deadline;
    private final Runnable onReady;
    private final BlockingQueue<SnapshotChunk> queue = new LinkedBlockingQueue<>();
    private final CompletableFuture<TransferResult> result = new CompletableFuture<>();
    private final Thread sender;

    private DataChannelHop(String hop, TlsStream stream, Deadline deadline, Runnable onReady) {
        this.hop = hop;
        this.stream = stream;
        this.deadline = deadline;
        this.onReady = onReady;
        this.sender = new Thread(this::run, "data-channel-hop");
        sender.setDaemon(true);
    }

    /** Connects and completes the TLS handshake now, so a hop whose data channel cannot be reached fails here. */
    static DataChannelHop open(String hop, SslContext tls, int port, Deadline deadline, Runnable onReady) throws IOException {
        int colon = hop.lastIndexOf(':');
        if (colon <= 0) {
            throw new IOException("next hop " + hop + " is not host:port");
        }
        String host = hop.substring(0, colon).replace("[", "").replace("]", "");
        SocketChannel channel = SocketChannel.open();
        try {
            channel.socket().connect(new InetSocketAddress(host, port), (int) RelayDialer.CONNECT_TIMEOUT.toMillis());
            SSLEngine engine = tls.newEngine(ByteBufAllocator.DEFAULT, host, port);
            // As gRPC does for RelaySnapshot: the hop's certificate must name the address dialled.
            SSLParameters parameters = engine.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            engine.setSSLParameters(parameters);
            TlsStream stream = TlsStream.handshake(channel, engine, 64 << 10, IDLE);
            DataChannelHop opened = new DataChannelHop(hop, stream, deadline, onReady);
            opened.sender.start();
            return opened;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
        }
    }

    @Override
    public String hop() {
        return hop;
    }

    @Override
    public String transport() {
        return "data channel";
    }

    @Override
    public boolean alive() {
        return !result.isDone();
    }

    @Override
    public boolean ready() {
        return !alive() || queue.isEmpty();
    }

    @Override
    public void send(SnapshotChunk chunk) {
        if (alive()) {
            queue.add(chunk);
        }
    }

    @Override
    public void finish() {
        if (alive()) {
            queue.add(END);
        }
    }

    @Override
    public void cancel(String why) {
        if (result.completeExceptionally(Status.CANCELLED.withDescription(why).asRuntimeException())) {
            // Closes the socket under a blocked write (an interruptible channel); the hop keeps its .part.
            sender.interrupt();
        }
    }

    @Override
    public CompletableFuture<TransferResult> result() {
        return result;
    }

    private void run() {
        try {
            DataChannelWire.writeMagic(stream);
            while (alive()) {
                SnapshotChunk chunk = queue.poll(Math.max(1, deadline.timeRemaining(TimeUnit.MILLISECONDS)), TimeUnit.MILLISECONDS);
                if (chunk == null) {
                    throw Status.DEADLINE_EXCEEDED.withDescription("the relay to " + hop + " passed its deadline").asRuntimeException();
                }
                if (chunk == END || stream.peerHasSpoken()) {
                    // At the end, or a refusal while this side was still sending: the hop's one answer.
                    result.complete(answer());
                    break;
                }
                byte[] meta = chunk.toBuilder().clearData().build().toByteArray();
                DataChannelWire.writeChunk(stream, meta, chunk.getData().asReadOnlyByteBufferList().toArray(ByteBuffer[]::new));
                if (queue.isEmpty()) {
                    onReady.run();
                }
            }
        } catch (InterruptedException e) {
            result.completeExceptionally(Status.CANCELLED.withDescription("the sending agent stopped").asRuntimeException());
        } catch (IOException e) {
            result.completeExceptionally(Status.UNAVAILABLE.withDescription("the data channel of the agent at " + hop + " broke: "
                    + e.getMessage()).withCause(e).asRuntimeException());
        } catch (RuntimeException e) {
            result.completeExceptionally(e);
        } finally {
            queue.clear();
            stream.closeQuietly();
            onReady.run();
        }
    }

    /** The hop's one answer: its result, or its status thrown with the failed hop as RelaySnapshot's trailer. */
    private TransferResult answer() throws IOException {
        byte kind = DataChannelWire.readReplyKind(stream, System.nanoTime() + deadline.timeRemaining(TimeUnit.NANOSECONDS));
        if (kind == DataChannelWire.REPLY_RESULT) {
            return TransferResult.parseFrom(DataChannelWire.readBlock(stream, DataChannelWire.MAX_META_BYTES, "result"));
        }
        if (kind != DataChannelWire.REPLY_STATUS) {
            throw new InvalidProtocolBufferException("answer of unknown kind " + kind + " from " + hop);
        }
        com.google.rpc.Status status = com.google.rpc.Status.parseFrom(
                DataChannelWire.readBlock(stream, DataChannelWire.MAX_META_BYTES, "status"));
        String failedHop = new String(DataChannelWire.readBytes(stream, 1024, "failed hop"), StandardCharsets.UTF_8);
        Metadata trailers = new Metadata();
        trailers.put(FAILED_HOP, failedHop.isEmpty() ? hop : failedHop);
        throw StatusProto.toStatusRuntimeException(status, trailers);
    }
}
