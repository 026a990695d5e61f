package dev.etcdrescue.agent.transfer;

import dev.etcdrescue.proto.v1.TransferResult;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The response side of an upload that arrives on the data channel (decision 0023), as {@link UploadReceiver}
 * sees a gRPC call's: its requests for the next chunk become permits the reading thread waits for (the
 * same flow control as over gRPC, relay's next hop included), and its answer, success or failure,
 * completes {@link #answer()}. A broken connection is reported with {@link #cancel()}, as gRPC reports a
 * cancelled call.
 */
public final class DataChannelReply extends ServerCallStreamObserver<TransferResult> {
    private final Semaphore requested = new Semaphore(0);
    private final CompletableFuture<TransferResult> answer = new CompletableFuture<>();
    private volatile boolean cancelled;
    private Runnable onCancel = () -> { };
    private TransferResult result;

    /** Waits until the receiver asks for the next chunk or has answered; false when it has answered. */
    public boolean awaitRequest(long timeoutMillis) throws InterruptedException {
        while (!answer.isDone()) {
            if (requested.tryAcquire(50, TimeUnit.MILLISECONDS)) {
                return true;
            }
            timeoutMillis -= 50;
            if (timeoutMillis <= 0) {
                return false;
            }
        }
        return false;
    }

    /** The relay hop a failure names (the trailer UploadSnapshot's answer carries), or "". */
    public static String failedHop(Throwable failure) {
        Metadata trailers = Status.trailersFromThrowable(failure);
        String hop = trailers == null ? null : trailers.get(NextHop.FAILED_HOP);
        return hop == null ? "" : hop;
    }

    /** The receiver's answer: the verified file's result, or why it was refused. */
    public CompletableFuture<TransferResult> answer() {
        return answer;
    }

    /** The connection broke: the receiver keeps its partial file for a resume, as for a cancelled call. */
    public void cancel() {
        Runnable handler;
        synchronized (this) {
            if (cancelled) {
                return;
            }
            cancelled = true;
            handler = onCancel;
        }
        handler.run();
    }

    @Override
    public boolean isCancelled() {
        return cancelled;
    }

    @Override
    public synchronized void setOnCancelHandler(Runnable handler) {
        this.onCancel = handler;
    }

    @Override
    public void request(int count) {
        requested.release(count);
    }

    @Override
    public void onNext(TransferResult value) {
        result = value;
    }

    @Override
    public void onError(Throwable t) {
        answer.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {
        answer.complete(result);
    }

    @Override
    public void disableAutoRequest() {
        // Always manual: nothing is read before the receiver asks.
    }

    @Override
    public void setCompression(String compression) {
        throw new UnsupportedOperationException("the data channel does not compress");
    }

    @Override
    public boolean isReady() {
        return true;
    }

    @Override
    public void setOnReadyHandler(Runnable handler) {
        // The answer is one message, written when it comes: never waits for readiness.
    }

    @Override
    public void disableAutoInboundFlowControl() {
        // As disableAutoRequest.
    }

    @Override
    public void setMessageCompression(boolean enable) {
        // Nothing is compressed.
    }
}
