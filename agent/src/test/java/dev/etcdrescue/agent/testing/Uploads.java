package dev.etcdrescue.agent.testing;

import com.google.protobuf.ByteString;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/** Client side of UploadSnapshot for tests: chunks from an offset, with hooks to tamper or stop. */
public final class Uploads {
    public static final int CHUNK = 64 * 1024;

    private Uploads() {}

    /** Sends bytes[from..] in CHUNK pieces, the last one marked; returns the agent's result or throws its status. */
    public static TransferResult upload(RescueAgentGrpc.RescueAgentStub stub, OperationHeader header, String transferId,
                                        byte[] bytes, long from, UnaryOperator<SnapshotChunk> tamper) throws Exception {
        return send(stub::uploadSnapshot, header, transferId, bytes, from, tamper);
    }

    /** The same over RelaySnapshot, as a peer agent forwards; {@code tamper} adds the grant to the first chunk. */
    public static TransferResult relay(RescueAgentGrpc.RescueAgentStub stub, OperationHeader header, String transferId,
                                       byte[] bytes, UnaryOperator<SnapshotChunk> tamper) throws Exception {
        return send(stub::relaySnapshot, header, transferId, bytes, 0, tamper);
    }

    private static TransferResult send(java.util.function.Function<io.grpc.stub.StreamObserver<TransferResult>,
                                               io.grpc.stub.StreamObserver<SnapshotChunk>> call,
                                       OperationHeader header, String transferId, byte[] bytes, long from,
                                       UnaryOperator<SnapshotChunk> tamper) throws Exception {
        CompletableFuture<TransferResult> result = new CompletableFuture<>();
        var requests = call.apply(observer(result));
        int index = 0;
        for (long offset = from; offset < bytes.length || index == 0; offset += CHUNK, index++) {
            int length = (int) Math.min(CHUNK, bytes.length - offset);
            SnapshotChunk.Builder chunk = SnapshotChunk.newBuilder().setTransferId(transferId).setOffset(offset)
                    .setData(ByteString.copyFrom(bytes, (int) offset, length))
                    .setLast(offset + length >= bytes.length);
            if (index == 0) {
                chunk.setHeader(header);
            }
            if (result.isDone()) {
                break;
            }
            requests.onNext(tamper.apply(chunk.build()));
        }
        requests.onCompleted();
        try {
            return result.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }

    /** Sends the first {@code chunks} chunks from offset 0, then cancels the stream as a dropped client would. */
    public static void uploadThenCancel(RescueAgentGrpc.RescueAgentStub stub, OperationHeader header, String transferId,
                                        byte[] bytes, int chunks) throws Exception {
        CompletableFuture<TransferResult> result = new CompletableFuture<>();
        CompletableFuture<ClientCallStreamObserver<SnapshotChunk>> call = new CompletableFuture<>();
        stub.uploadSnapshot(new ClientResponseObserver<SnapshotChunk, TransferResult>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<SnapshotChunk> requestStream) {
                call.complete(requestStream);
            }

            @Override
            public void onNext(TransferResult value) {
                result.complete(value);
            }

            @Override
            public void onError(Throwable t) {
                result.completeExceptionally(t);
            }

            @Override
            public void onCompleted() { }
        });
        ClientCallStreamObserver<SnapshotChunk> requests = call.get(5, TimeUnit.SECONDS);
        for (int i = 0; i < chunks; i++) {
            SnapshotChunk.Builder chunk = SnapshotChunk.newBuilder().setTransferId(transferId).setOffset((long) i * CHUNK)
                    .setData(ByteString.copyFrom(bytes, i * CHUNK, CHUNK));
            if (i == 0) {
                chunk.setHeader(header);
            }
            requests.onNext(chunk.build());
        }
        // Give the agent a moment to write what was sent, as a real client would have before its link dropped.
        Thread.sleep(300);
        requests.cancel("test drops the connection", null);
    }

    private static ClientResponseObserver<SnapshotChunk, TransferResult> observer(CompletableFuture<TransferResult> result) {
        return new ClientResponseObserver<>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<SnapshotChunk> requestStream) { }

            @Override
            public void onNext(TransferResult value) {
                result.complete(value);
            }

            @Override
            public void onError(Throwable t) {
                result.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                if (!result.isDone()) {
                    result.completeExceptionally(new IllegalStateException("completed without a result"));
                }
            }
        };
    }
}
