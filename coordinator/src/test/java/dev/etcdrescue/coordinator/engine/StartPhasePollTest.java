package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class StartPhasePollTest {
    @Test
    void finePollingInTheFirstSecondThenATenthOfTheWaitUpTo400Ms() {
        assertThat(StartPhase.pollAfter(Duration.ZERO)).isEqualTo(Duration.ofMillis(100));
        assertThat(StartPhase.pollAfter(Duration.ofMillis(999))).isEqualTo(Duration.ofMillis(100));
        assertThat(StartPhase.pollAfter(Duration.ofMillis(1_500))).isEqualTo(Duration.ofMillis(150));
        assertThat(StartPhase.pollAfter(Duration.ofSeconds(3))).isEqualTo(Duration.ofMillis(300));
        assertThat(StartPhase.pollAfter(Duration.ofSeconds(9))).isEqualTo(Duration.ofMillis(400));
        assertThat(StartPhase.pollAfter(Duration.ofMinutes(5))).isEqualTo(Duration.ofMillis(400));
    }
}
