package dev.etcdrescue.coordinator.agent;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.etcdrescue.pki.DataChannelWire;
import dev.etcdrescue.pki.TlsStream;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongConsumer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * One upload over an agent's data channel (decision 0023): the chunks UploadSnapshot would send, each
 * as its fields and then its data, in one TLS stream with the coordinator's own certificate and the
 * same checks of the agent's (fleet CA, OU=agent, the address dialled in its SAN). The answer is the
 * one UploadSnapshot gives, its failures the same statuses and trailers.
 */
final class DataChannelUpload {
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** The agent stops a stream idle for 60 s; this side waits as long for it to take more or answer. */
    private static final Duration IDLE = Duration.ofSeconds(60);

    /** The data channel could not be opened (nothing was sent): the caller may use UploadSnapshot instead. */
    static final class Unavailable extends Exception {
        Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private DataChannelUpload() {}

    static TransferResult send(SslContext tls, AgentEndpoint endpoint, int port, OperationHeader header, String transferId,
                               ChunkSource source, long fromOffset, LongConsumer progress, Duration timeout)
            throws Unavailable, InterruptedException {
        TlsStream stream = open(tls, endpoint, port);
        long deadline = System.nanoTime() + timeout.toNanos();
        try (stream) {
            // Chunks are read (or copied) into native memory, which BoringSSL encrypts from without another copy.
            ByteBuffer staging = ByteBuffer.allocateDirect(source.chunkSize());
            long offset = fromOffset;
            boolean first = true;
            while (true) {
                if (stream.peerHasSpoken()) {
                    return answer(stream, endpoint, port, deadline);
                }
                awaitChunk(source, offset, deadline);
                if (source.failure().isPresent()) {
                    throw Status.CANCELLED.withDescription(source.failure().get()).asRuntimeException();
                }
                staging.clear();
                int length = source.chunkInto(offset, staging);
                staging.flip();
                long size = source.size();
                boolean last = size >= 0 && offset + length == size;
                SnapshotChunk.Builder chunk = SnapshotChunk.newBuilder().setTransferId(transferId).setOffset(offset).setLast(last);
                if (first) {
                    chunk.setHeader(header);
                    DataChannelWire.writeMagic(stream);
                    first = false;
                }
                if (last) {
                    chunk.setFinalSize(size);
                    source.finalSha256().ifPresent(chunk::setFinalSha256);
                }
                DataChannelWire.writeChunk(stream, chunk.build().toByteArray(), staging);
                offset += length;
                progress.accept(offset);
                if (last) {
                    return answer(stream, endpoint, port, deadline);
                }
                if (System.nanoTime() > deadline) {
                    throw Status.DEADLINE_EXCEEDED.withDescription("the upload to " + endpoint.hostName() + " took longer than "
                            + timeout).asRuntimeException();
                }
            }
        } catch (InterruptedIOException e) {
            if (!(e instanceof SocketTimeoutException)) {
                throw new InterruptedException("upload to " + endpoint.hostName() + " interrupted");
            }
            throw Status.UNAVAILABLE.withDescription("the data channel to " + endpoint.hostName() + " (" + endpoint.host() + ":" + port
                    + ") broke: " + e.getMessage()).withCause(e).asRuntimeException();
        } catch (IOException e) {
            throw Status.UNAVAILABLE.withDescription("the data channel to " + endpoint.hostName() + " (" + endpoint.host() + ":" + port
                    + ") broke: " + e.getMessage()).withCause(e).asRuntimeException();
        }
    }

    private static TlsStream open(SslContext tls, AgentEndpoint endpoint, int port) throws Unavailable {
        SocketChannel channel = null;
        try {
            channel = SocketChannel.open();
            channel.socket().connect(new InetSocketAddress(endpoint.host(), port), (int) CONNECT_TIMEOUT.toMillis());
            SSLEngine engine = tls.newEngine(ByteBufAllocator.DEFAULT, endpoint.host(), port);
            // As gRPC does: the agent's certificate must name the address dialled.
            SSLParameters parameters = engine.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            engine.setSSLParameters(parameters);
            return TlsStream.handshake(channel, engine, 64 << 10, IDLE);
        } catch (IOException | RuntimeException e) {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // Never connected, or the handshake failed: nothing to close cleanly.
                }
            }
            throw new Unavailable("data channel " + endpoint.host() + ":" + port + ": " + e.getMessage(), e);
        }
    }

    /** Waits until the chunk at {@code offset} can be read (a snapshot still being taken grows). */
    private static void awaitChunk(ChunkSource source, long offset, long deadline) throws InterruptedException {
        if (source.ready(offset) || source.failure().isPresent()) {
            return;
        }
        CompletableFuture<Void> grown = new CompletableFuture<>();
        source.whenReady(offset, () -> grown.complete(null));
        try {
            grown.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw Status.DEADLINE_EXCEEDED.withDescription("the snapshot did not grow to " + offset + " bytes in time")
                    .asRuntimeException();
        }
    }

    /** The agent's one answer: the result, or its status (with the failed relay hop as a trailer) thrown. */
    private static TransferResult answer(TlsStream stream, AgentEndpoint endpoint, int port, long deadline) throws IOException {
        byte kind = DataChannelWire.readReplyKind(stream, deadline);
        if (kind == DataChannelWire.REPLY_RESULT) {
            return TransferResult.parseFrom(DataChannelWire.readBlock(stream, DataChannelWire.MAX_META_BYTES, "result"));
        }
        if (kind != DataChannelWire.REPLY_STATUS) {
            throw new InvalidProtocolBufferException("answer of unknown kind " + kind + " from " + endpoint.host() + ":" + port);
        }
        com.google.rpc.Status status = com.google.rpc.Status.parseFrom(
                DataChannelWire.readBlock(stream, DataChannelWire.MAX_META_BYTES, "status"));
        String failedHop = new String(DataChannelWire.readBytes(stream, 1024, "failed hop"), StandardCharsets.UTF_8);
        Metadata trailers = new Metadata();
        if (!failedHop.isEmpty()) {
            // The trailer UploadSnapshot's answer names the failed relay hop in.
            trailers.put(AgentClient.RELAY_FAILED_HOP, failedHop);
        }
        StatusRuntimeException refused = StatusProto.toStatusRuntimeException(status, trailers);
        throw refused;
    }
}
