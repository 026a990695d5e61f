package dev.etcdrescue.agent.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.testing.Uploads;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The marshaller over a real Netty transport on 127.0.0.1: the bytes arrive intact, as views, and are let go. */
class ZeroCopyChunksTest {
    private static final int CHUNK = Uploads.CHUNK;

    private final ZeroCopyChunks chunks = new ZeroCopyChunks();
    private final List<Boolean> direct = new ArrayList<>();
    private final AtomicInteger heldDuringOnNext = new AtomicInteger();
    private final AtomicInteger failAtChunk = new AtomicInteger(-1);
    private Server server;
    private ManagedChannel channel;

    @AfterEach
    void stop() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void chunksArriveIntactAsViewsOfTheTransportsBuffersAndAreReleasedAfterOnNext() throws Exception {
        start();
        byte[] file = random(20 * CHUNK + 12_345);

        TransferResult result = upload(file);

        assertThat(result.getSha256()).isEqualTo(sha256Hex(file));
        assertThat(result.getSize()).isEqualTo(file.length);
        assertThat(result.getTransferId()).as("the first chunk's header and id, parsed by protobuf").isEqualTo("t-1 for op-7");
        assertThat(direct).as("data views over Netty's direct buffers, not copies").contains(true);
        assertThat(heldDuringOnNext.get()).as("chunks held while their onNext ran").isPositive();
        assertThat(chunks.heldCount()).as("every chunk's buffers released").isZero();
    }

    @Test
    void aHandlerThatThrowsStillReleasesTheChunk() throws Exception {
        start();
        failAtChunk.set(3);

        assertThatThrownBy(() -> upload(random(10 * CHUNK))).isInstanceOf(StatusRuntimeException.class);

        assertThat(chunks.heldCount()).isZero();
    }

    private void start() throws Exception {
        RescueAgentGrpc.RescueAgentImplBase service = new RescueAgentGrpc.RescueAgentImplBase() {
            @Override
            public StreamObserver<SnapshotChunk> uploadSnapshot(StreamObserver<TransferResult> response) {
                return new Digesting(response);
            }
        };
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(ServerInterceptors.intercept(chunks.bind(service.bindService())))
                .build().start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    }

    private TransferResult upload(byte[] file) throws Exception {
        return Uploads.upload(RescueAgentGrpc.newStub(channel), OperationHeader.newBuilder().setOperationId("op-7").build(),
                "t-1", file, 0, UnaryOperator.identity());
    }

    /** Digests each chunk's data through the marshaller's views, as UploadReceiver does. */
    private final class Digesting implements StreamObserver<SnapshotChunk> {
        private final StreamObserver<TransferResult> response;
        private final MessageDigest sha;
        private String id = "";
        private long size;
        private int count;

        Digesting(StreamObserver<TransferResult> response) {
            this.response = response;
            try {
                this.sha = MessageDigest.getInstance("SHA-256");
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void onNext(SnapshotChunk chunk) {
            if (count++ == failAtChunk.get()) {
                throw new IllegalStateException("chunk " + failAtChunk.get() + " refused");
            }
            if (chunk.hasHeader()) {
                id = chunk.getTransferId() + " for " + chunk.getHeader().getOperationId();
            }
            if (chunks.heldCount() > 0) {
                heldDuringOnNext.incrementAndGet();
            }
            for (ByteBuffer part : chunks.data(chunk)) {
                synchronized (direct) {
                    direct.add(part.isDirect());
                }
                size += part.remaining();
                sha.update(part);
            }
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
            response.onNext(TransferResult.newBuilder().setTransferId(id).setSize(size)
                    .setSha256(HexFormat.of().formatHex(sha.digest())).build());
            response.onCompleted();
        }
    }

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        new Random(n).nextBytes(b);
        return b;
    }

    private static String sha256Hex(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }
}
