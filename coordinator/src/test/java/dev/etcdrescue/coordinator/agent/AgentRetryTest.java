package dev.etcdrescue.coordinator.agent;

import static dev.etcdrescue.coordinator.agent.AgentFailures.answered;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.Status.Code;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class AgentRetryTest {
    private static final Duration FAST = Duration.ofMillis(10);

    @Test
    void aBrokenConnectionIsRetried() {
        assertThat(AgentRetry.retryable(Status.UNAVAILABLE.withDescription("agent restarted").asRuntimeException())).isTrue();
        assertThat(AgentRetry.retryable(new RuntimeException(Status.UNAVAILABLE.asRuntimeException()))).isTrue();
        assertThat(AgentRetry.retryable(new IllegalStateException("bug"))).isFalse();
    }

    @Test
    void theReasonsThatPassByThemselvesAreRetriedWhateverTheMessageSays() {
        assertThat(AgentRetry.retryable(answered(Code.FAILED_PRECONDITION, "TRANSFER_STILL_OPEN", "any words"))).isTrue();
        assertThat(AgentRetry.retryable(answered(Code.RESOURCE_EXHAUSTED, "AGENT_BUSY", "any words"))).isTrue();
    }

    @Test
    void everyOtherReasonIsFinalEvenWithTheWordsOfATransientOne() {
        for (String reason : List.of("DIGEST_MISMATCH", "NO_SPACE", "INVALID_REQUEST", "CLAIMED_BY_OTHER", "NOT_CLAIMED",
                "TRANSFER_NOT_ANNOUNCED", "HOST_NOT_READY", "A_REASON_FROM_A_NEWER_AGENT")) {
            assertThat(AgentRetry.retryable(answered(Code.FAILED_PRECONDITION, reason, "an upload of transfer t is still open")))
                    .as(reason).isFalse();
        }
        assertThat(AgentRetry.retryable(Status.FAILED_PRECONDITION.withDescription("an upload of transfer t is still open")
                .asRuntimeException())).as("no reason, old words").isFalse();
    }

    @Test
    void unavailableSentByTheAgentItselfIsNotATransportFailure() {
        assertThat(AgentRetry.retryable(answered(Code.UNAVAILABLE, "INTERNAL_ERROR", "shutting down"))).isFalse();
    }

    @Test
    void retriesThenSucceedsAndTellsEachRetryWithItsReason() {
        AtomicInteger calls = new AtomicInteger();
        List<String> notes = new ArrayList<>();
        String out = AgentRetry.<String>policy(notes::add, FAST).get(() -> {
            if (calls.incrementAndGet() == 1) {
                throw Status.UNAVAILABLE.withDescription("connection reset").asRuntimeException();
            }
            if (calls.get() == 2) {
                throw answered(Code.FAILED_PRECONDITION, "TRANSFER_STILL_OPEN", "still closing");
            }
            return "done";
        });
        assertThat(out).isEqualTo("done");
        assertThat(calls).hasValue(3);
        assertThat(notes).containsExactly("attempt 2 after UNAVAILABLE: connection reset",
                "attempt 3 after TRANSFER_STILL_OPEN: still closing");
    }

    @Test
    void aRefusedDigestIsNotRetried() {
        AtomicInteger calls = new AtomicInteger();
        assertThatThrownBy(() -> AgentRetry.<String>policy(n -> { }, FAST).get(() -> {
            calls.incrementAndGet();
            throw answered(Code.DATA_LOSS, "DIGEST_MISMATCH", "digest mismatch");
        })).hasMessageContaining("digest mismatch");
        assertThat(calls).hasValue(1);
    }

    @Test
    void givesUpAfterFiveAttempts() {
        AtomicInteger calls = new AtomicInteger();
        assertThatThrownBy(() -> AgentRetry.<String>policy(n -> { }, FAST).get(() -> {
            calls.incrementAndGet();
            throw answered(Code.RESOURCE_EXHAUSTED, "AGENT_BUSY", "busy");
        })).hasMessageContaining("busy");
        assertThat(calls).hasValue(5);
    }
}
