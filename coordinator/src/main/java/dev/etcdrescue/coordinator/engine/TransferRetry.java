package dev.etcdrescue.coordinator.engine;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeExecutor;
import dev.failsafe.RetryPolicy;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * The one place that decides which transfer failures are worth another attempt: an agent that
 * restarted or a connection that broke (UNAVAILABLE). Another attempt starts with BeginTransfer,
 * which returns the agent's durable offset, so nothing already verified is sent again. A refused
 * digest, a bad request or a full disk is never retried: repeating it cannot help. One refusal is
 * transient too: after a failed relay, an agent whose upstream broke off may still be closing its
 * stream for a moment (FAILED_PRECONDITION "... is still open"), and the direct fallback must wait for it.
 */
final class TransferRetry {
    private TransferRetry() {}

    static boolean retryable(Throwable t) {
        Throwable c = t;
        while (c != null && !(c instanceof StatusRuntimeException)) {
            c = c.getCause();
        }
        if (!(c instanceof StatusRuntimeException sre)) {
            return false;
        }
        Status status = sre.getStatus();
        return status.getCode() == Status.Code.UNAVAILABLE
                || status.getCode() == Status.Code.FAILED_PRECONDITION && status.getDescription() != null
                        && status.getDescription().contains("is still open");
    }

    /** Up to 5 attempts over about half a minute: long enough for systemd to restart an agent (RestartSec=2s plus JVM start). */
    static <T> FailsafeExecutor<T> policy(Consumer<String> onRetry) {
        RetryPolicy<T> policy = RetryPolicy.<T>builder()
                .handleIf(TransferRetry::retryable)
                .withBackoff(Duration.ofSeconds(2), Duration.ofSeconds(8))
                .withMaxAttempts(5)
                .withMaxDuration(Duration.ofMinutes(1))
                .onRetry(e -> onRetry.accept("attempt " + (e.getAttemptCount() + 1) + " after: " + e.getLastException().getMessage()))
                .build();
        return Failsafe.with(policy);
    }
}
