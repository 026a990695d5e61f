package dev.etcdrescue.agent.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ProcessRunnerTest {
    private final ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor();
    private final AtomicInteger unregistered = new AtomicInteger();

    @AfterEach
    void stop() {
        later.shutdownNow();
    }

    /** Fires {@code after} the child started, as a client's deadline would. */
    private Cancellation cancelledAfter(Duration after) {
        return stop -> {
            ScheduledFuture<?> fire = later.schedule(stop, after.toMillis(), TimeUnit.MILLISECONDS);
            return () -> {
                fire.cancel(false);
                unregistered.incrementAndGet();
            };
        };
    }

    @Test
    void aCancelledChildIsEndedAtOnceAndNotReportedAsTimedOut() {
        ProcessResult r = new ProcessRunner().run(List.of("sleep", "60"), Map.of(), Duration.ofSeconds(60),
                cancelledAfter(Duration.ofMillis(300)));

        assertThat(r.took()).as("ended by the cancellation, not by sleep or the timeout").isLessThan(Duration.ofSeconds(10));
        assertThat(r.timedOut()).isFalse();
        assertThat(r.succeeded()).isFalse();
        assertThat(r.exitCode()).as("ended by SIGTERM").isEqualTo(143);
        assertThat(unregistered.get()).isEqualTo(1);
    }

    @Test
    void aChildThatEndsByItselfUnregistersItsCancellation() {
        ProcessResult r = new ProcessRunner().run(List.of("sh", "-c", "echo done"), Map.of(), Duration.ofSeconds(30),
                cancelledAfter(Duration.ofMillis(200)));

        assertThat(r.succeeded()).isTrue();
        assertThat(r.stdout()).isEqualTo("done\n");
        assertThat(unregistered.get()).isEqualTo(1);
    }
}
