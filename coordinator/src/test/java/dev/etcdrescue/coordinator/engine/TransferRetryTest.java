package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class TransferRetryTest {
    @Test
    void onlyABrokenConnectionIsRetried() {
        assertThat(TransferRetry.retryable(Status.UNAVAILABLE.withDescription("agent restarted").asRuntimeException())).isTrue();
        assertThat(TransferRetry.retryable(new RuntimeException(Status.UNAVAILABLE.asRuntimeException()))).isTrue();
        for (Status s : List.of(Status.DATA_LOSS, Status.INVALID_ARGUMENT, Status.RESOURCE_EXHAUSTED, Status.FAILED_PRECONDITION,
                Status.PERMISSION_DENIED)) {
            assertThat(TransferRetry.retryable(s.asRuntimeException())).as(s.getCode().name()).isFalse();
        }
        assertThat(TransferRetry.retryable(new IllegalStateException("bug"))).isFalse();
    }

    @Test
    void anUploadStillClosingAfterAFailedRelayIsWaitedFor() {
        assertThat(TransferRetry.retryable(Status.FAILED_PRECONDITION.withDescription("an upload of transfer t is still open:"
                + " wait for it to end (or be cancelled) before announcing the transfer again").asRuntimeException())).isTrue();
        assertThat(TransferRetry.retryable(Status.FAILED_PRECONDITION.withDescription("transfer t was not announced")
                .asRuntimeException())).isFalse();
    }

    @Test
    void retriesUnavailableThenSucceedsAndReportsEachRetry() {
        AtomicInteger calls = new AtomicInteger();
        List<String> notes = new ArrayList<>();
        String out = TransferRetry.<String>policy(notes::add).get(() -> {
            if (calls.incrementAndGet() < 3) {
                throw Status.UNAVAILABLE.withDescription("connection reset").asRuntimeException();
            }
            return "done";
        });
        assertThat(out).isEqualTo("done");
        assertThat(calls).hasValue(3);
        assertThat(notes).hasSize(2).allSatisfy(n -> assertThat(n).contains("connection reset"));
    }

    @Test
    void aRefusedDigestIsNotRetried() {
        AtomicInteger calls = new AtomicInteger();
        assertThatThrownBy(() -> TransferRetry.<String>policy(n -> { }).get(() -> {
            calls.incrementAndGet();
            throw Status.DATA_LOSS.withDescription("digest mismatch").asRuntimeException();
        })).hasMessageContaining("digest mismatch");
        assertThat(calls).hasValue(1);
    }
}
