package dev.etcdrescue.coordinator.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An upload fed from a file still being written (a snapshot streaming in from etcd), over a real gRPC
 * stream to a plain receiver on 127.0.0.1. gRPC calls the pump whenever its transport drains, many times
 * while the next chunk is not written yet; the pump must still wait for the file with one callback.
 */
@Timeout(60)
class LiveUploadTest {
    private static final int CHUNK = 256 << 10;
    private static final int WRITE = 32 << 10;

    @TempDir
    Path tmp;

    @Test
    void aStreamWaitingForTheSnapshotHoldsOneCallbackAndGetsEveryByte() throws Exception {
        byte[] snapshot = new byte[16 << 20];
        new Random(3).nextBytes(snapshot);
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new Receiver(received)).build().start();
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
        Path file = Files.write(tmp.resolve("live.db"), new byte[0]);
        try (GrowingFile growing = new GrowingFile(); ChunkSource source = new ChunkSource(file, CHUNK, 1, growing);
             AgentClient agent = new AgentClient(new AgentEndpoint("h", "127.0.0.1", server.getPort()), channel,
                     Duration.ofSeconds(10), null, new WireBytes())) {
            CompletableFuture<TransferResult> upload = CompletableFuture.supplyAsync(() -> {
                try {
                    return agent.upload(OperationHeader.newBuilder().setOperationId("op").build(), "t", source, 0,
                            sent -> { }, Duration.ofSeconds(50));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            // The stream is open and waits for the first chunk before etcd's first bytes arrive.
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (growing.waitingReaders() == 0 && System.nanoTime() < until) {
                TimeUnit.MILLISECONDS.sleep(5);
            }
            assertThat(growing.waitingReaders()).isEqualTo(1);
            int mostWaiting = 0;
            try (FileChannel out = FileChannel.open(file, StandardOpenOption.WRITE)) {
                for (int at = 0; at < snapshot.length; at += WRITE) {
                    out.write(ByteBuffer.wrap(snapshot, at, WRITE));
                    growing.wrote(WRITE);
                    mostWaiting = Math.max(mostWaiting, growing.waitingReaders());
                    TimeUnit.MICROSECONDS.sleep(500);
                }
            }
            growing.complete(snapshot.length, "ab".repeat(32));
            upload.get(50, TimeUnit.SECONDS);

            assertThat(received.toByteArray()).isEqualTo(snapshot);
            assertThat(mostWaiting).as("callbacks registered by the one stream while it waited for the file").isLessThanOrEqualTo(1);
            assertThat(growing.callbacks()).as("wake-ups of the stream: at most one per chunk (%d chunks, %d writes)",
                    snapshot.length / CHUNK, snapshot.length / WRITE).isLessThanOrEqualTo(snapshot.length / CHUNK + 1);
            assertThat(growing.waitingReaders()).isZero();
        } finally {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** Takes every chunk at its offset and answers once the last one is in. */
    private static final class Receiver extends RescueAgentGrpc.RescueAgentImplBase {
        private final ByteArrayOutputStream received;

        Receiver(ByteArrayOutputStream received) {
            this.received = received;
        }

        @Override
        public StreamObserver<SnapshotChunk> uploadSnapshot(StreamObserver<TransferResult> response) {
            return new StreamObserver<>() {
                @Override
                public void onNext(SnapshotChunk chunk) {
                    synchronized (received) {
                        if (chunk.getOffset() != received.size()) {
                            response.onError(io.grpc.Status.INVALID_ARGUMENT.withDescription("offset " + chunk.getOffset()
                                    + ", expected " + received.size()).asRuntimeException());
                            return;
                        }
                        received.writeBytes(chunk.getData().toByteArray());
                    }
                    if (chunk.getLast()) {
                        response.onNext(TransferResult.newBuilder().setSize(chunk.getFinalSize()).build());
                        response.onCompleted();
                    }
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                }
            };
        }
    }
}
