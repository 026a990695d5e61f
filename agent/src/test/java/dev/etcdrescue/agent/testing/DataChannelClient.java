package dev.etcdrescue.agent.testing;

import dev.etcdrescue.pki.DataChannelWire;
import dev.etcdrescue.pki.TlsStream;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.List;

/**
 * A sender on the agent's data channel for the agent's tests (the coordinator's own is in its module):
 * real TLS with the given client context, the wire of {@link DataChannelWire}, chunks as given.
 */
public final class DataChannelClient implements AutoCloseable {
    private final TlsStream stream;

    private DataChannelClient(TlsStream stream) {
        this.stream = stream;
    }

    public static DataChannelClient connect(SslContext tls, int port) throws IOException {
        return connect(tls, port, Duration.ofSeconds(20));
    }

    /** With {@code idle}: how long the sender waits for the agent to take or say anything. */
    public static DataChannelClient connect(SslContext tls, int port, Duration idle) throws IOException {
        SocketChannel channel = SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
        return new DataChannelClient(TlsStream.handshake(channel, tls.newEngine(ByteBufAllocator.DEFAULT, "127.0.0.1", port),
                64 << 10, idle));
    }

    /**
     * Sends the magic and then {@code chunks} (each with its data taken out of the fields), stopping
     * early when the agent answers; returns its answer: the result, or its status thrown.
     */
    public TransferResult send(List<SnapshotChunk> chunks) throws IOException {
        DataChannelWire.writeMagic(stream);
        for (SnapshotChunk chunk : chunks) {
            if (stream.peerHasSpoken()) {
                break;
            }
            ByteBuffer data = ByteBuffer.allocateDirect(chunk.getData().size());
            chunk.getData().copyTo(data);
            DataChannelWire.writeChunk(stream, chunk.toBuilder().clearData().build().toByteArray(), data.flip());
        }
        return answer();
    }

    /** Sends raw bytes after the handshake (a malformed stream), then reads the answer. */
    public TransferResult sendRaw(byte[] bytes) throws IOException {
        stream.write(ByteBuffer.wrap(bytes));
        return answer();
    }

    private TransferResult answer() throws IOException {
        byte kind = DataChannelWire.readReplyKind(stream, System.nanoTime() + java.util.concurrent.TimeUnit.MINUTES.toNanos(5));
        if (kind == DataChannelWire.REPLY_RESULT) {
            return TransferResult.parseFrom(DataChannelWire.readBlock(stream, DataChannelWire.MAX_META_BYTES, "result"));
        }
        com.google.rpc.Status status = com.google.rpc.Status.parseFrom(DataChannelWire.readBlock(stream,
                DataChannelWire.MAX_META_BYTES, "status"));
        StatusRuntimeException refused = StatusProto.toStatusRuntimeException(status);
        throw refused;
    }

    @Override
    public void close() {
        stream.closeQuietly();
    }
}
