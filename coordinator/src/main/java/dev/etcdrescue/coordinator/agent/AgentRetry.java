package dev.etcdrescue.coordinator.agent;

import dev.etcdrescue.proto.v1.ErrorReason;
import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeExecutor;
import dev.failsafe.RetryPolicy;
import io.grpc.Status;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The one retry policy for agent calls that are safe to repeat (a transfer: another attempt starts
 * with BeginTransfer, which returns the agent's durable offset, so nothing verified is sent again).
 * Retried: a connection that failed or broke (an agent restarting), and the reasons that pass by
 * themselves. Never retried: every other reason (a refused digest, a bad request, a full disk,
 * a claim held by another operation), since repeating cannot help.
 */
public final class AgentRetry {
    /**
     * TRANSFER_STILL_OPEN: after a failed relay, an agent whose upstream broke off may still be closing
     * that stream for a moment, and the direct fallback must wait for it. AGENT_BUSY: the agent's
     * workers were all taken and the call did not start.
     */
    private static final Set<ErrorReason> PASSING = EnumSet.of(ErrorReason.TRANSFER_STILL_OPEN, ErrorReason.AGENT_BUSY);
    private static final Duration FIRST_DELAY = Duration.ofSeconds(2);

    private AgentRetry() {}

    public static boolean retryable(Throwable t) {
        return AgentError.transport(t) || AgentError.reason(t).map(PASSING::contains).orElse(false);
    }

    /**
     * Up to 5 attempts within a minute, waiting 2, 4, 8, 8 s: long enough for systemd to restart an agent
     * (RestartSec=2s plus the JVM's start). Each retry is told to {@code onRetry}.
     */
    public static <T> FailsafeExecutor<T> policy(Consumer<String> onRetry) {
        return policy(onRetry, FIRST_DELAY);
    }

    static <T> FailsafeExecutor<T> policy(Consumer<String> onRetry, Duration firstDelay) {
        RetryPolicy<T> policy = RetryPolicy.<T>builder()
                .handleIf(AgentRetry::retryable)
                .withBackoff(firstDelay, firstDelay.multipliedBy(4))
                .withMaxAttempts(5)
                .withMaxDuration(Duration.ofMinutes(1))
                .onRetry(e -> onRetry.accept("attempt " + (e.getAttemptCount() + 1) + " after " + why(e.getLastException())))
                .build();
        return Failsafe.with(policy);
    }

    /** "TRANSFER_STILL_OPEN: <the agent's words>", or "UNAVAILABLE: <gRPC's words>" when the agent gave no reason. */
    private static String why(Throwable t) {
        String label = AgentError.reason(t).map(Enum::name).orElse(AgentError.code(t).name());
        String detail = Status.fromThrowable(t).getDescription();
        return label + ": " + (detail != null ? detail : t.getMessage());
    }
}
