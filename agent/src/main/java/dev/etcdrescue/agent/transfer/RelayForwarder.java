package dev.etcdrescue.agent.transfer;

import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The RelaySnapshot stream from this agent to the next hop of a chain. It sends the chunks this agent
 * has just written; {@link #ready()} tells the receiver whether it may ask its own sender for more,
 * so the chain moves at the pace of its slowest hop and no agent buffers more than a chunk or two
 * beyond the HTTP/2 windows.
 */
final class RelayForwarder implements ClientResponseObserver<SnapshotChunk, TransferResult>, NextHop {

    private final String hop;
    private final ManagedChannel channel;
    private final Runnable onReady;
    private final CompletableFuture<TransferResult> result = new CompletableFuture<>();
    private volatile ClientCallStreamObserver<SnapshotChunk> requests;
    private TransferResult received;

    private RelayForwarder(String hop, ManagedChannel channel, Runnable onReady) {
        this.hop = hop;
        this.channel = channel;
        this.onReady = onReady;
    }

    static RelayForwarder open(String hop, ManagedChannel channel, Deadline deadline, Runnable onReady) {
        RelayForwarder forwarder = new RelayForwarder(hop, channel, onReady);
        RescueAgentGrpc.newStub(channel).withDeadlineAfter(deadline.timeRemaining(TimeUnit.MILLISECONDS), TimeUnit.MILLISECONDS)
                .relaySnapshot(forwarder);
        forwarder.result.whenComplete((r, t) -> channel.shutdown());
        return forwarder;
    }

    @Override
    public String hop() {
        return hop;
    }

    @Override
    public String transport() {
        return "RelaySnapshot";
    }

    @Override
    public boolean alive() {
        return !result.isDone();
    }

    @Override
    public boolean ready() {
        return !alive() || requests.isReady();
    }

    @Override
    public void send(SnapshotChunk chunk) {
        if (alive()) {
            requests.onNext(chunk);
        }
    }

    @Override
    public void finish() {
        if (alive()) {
            requests.onCompleted();
        }
    }

    @Override
    public void cancel(String why) {
        if (alive()) {
            requests.cancel(why, null);
        }
        channel.shutdownNow();
    }

    @Override
    public CompletableFuture<TransferResult> result() {
        return result;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<SnapshotChunk> requestStream) {
        requests = requestStream;
        requestStream.setOnReadyHandler(onReady);
    }

    @Override
    public void onNext(TransferResult value) {
        received = value;
    }

    @Override
    public void onError(Throwable t) {
        result.completeExceptionally(t);
        onReady.run();
    }

    @Override
    public void onCompleted() {
        if (received != null) {
            result.complete(received);
        } else {
            result.completeExceptionally(Status.INTERNAL.withDescription("the next hop " + hop
                    + " ended the relay without a result").asRuntimeException());
        }
    }
}
