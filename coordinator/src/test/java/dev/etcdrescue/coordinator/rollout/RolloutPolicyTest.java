package dev.etcdrescue.coordinator.rollout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class RolloutPolicyTest {
    @Test
    void batchesKeepOrderAndTheLastMayBeSmaller() {
        assertThat(new RolloutPolicy(2, 0).batches(List.of("a", "b", "c", "d", "e")))
                .containsExactly(List.of("a", "b"), List.of("c", "d"), List.of("e"));
        assertThat(new RolloutPolicy(1, 0).batches(List.of("a", "b"))).containsExactly(List.of("a"), List.of("b"));
        assertThat(new RolloutPolicy(9, 0).batches(List.of("a", "b", "c"))).containsExactly(List.of("a", "b", "c"));
    }

    @Test
    void zeroStopsAtAnyFailure() {
        RolloutPolicy p = new RolloutPolicy(3, 0);
        assertThat(p.stopReason(0, 3)).isEmpty();
        assertThat(p.stopReason(1, 3)).hasValueSatisfying(r -> assertThat(r).contains("1 of 3").contains("33.3% > --max-fail-percentage 0"));
    }

    @Test
    void stopsOnlyWhenTheShareOfFailuresExceedsThePercentage() {
        RolloutPolicy p = new RolloutPolicy(2, 50);
        assertThat(p.stopReason(1, 2)).as("50% does not exceed 50%").isEmpty();
        assertThat(p.stopReason(1, 3)).as("33% <= 50%").isEmpty();
        assertThat(p.stopReason(2, 3)).as("67% > 50%").isPresent();
        assertThat(p.stopReason(1, 1)).as("100% > 50%").hasValueSatisfying(r -> assertThat(r).contains("100% > --max-fail-percentage 50"));
        assertThat(new RolloutPolicy(10, 30).stopReason(3, 10)).as("exactly 30%").isEmpty();
        assertThat(new RolloutPolicy(10, 30).stopReason(4, 10)).as("40%").isPresent();
    }

    @Test
    void aWhollyFailedBatchStopsEvenAtOneHundredPercentAsInAnsible() {
        RolloutPolicy p = new RolloutPolicy(3, 100);
        assertThat(p.stopReason(2, 3)).isEmpty();
        assertThat(p.stopReason(3, 3)).hasValue("every cluster of the batch failed");
    }

    @Test
    void serialIsACountOrAPercentageRoundedDownAndAtLeastOne() {
        assertThat(RolloutPolicy.parseSerial("2", 10)).isEqualTo(2);
        assertThat(RolloutPolicy.parseSerial("30%", 10)).isEqualTo(3);
        assertThat(RolloutPolicy.parseSerial("30%", 9)).isEqualTo(2);
        assertThat(RolloutPolicy.parseSerial("10%", 3)).isEqualTo(1);
        assertThat(RolloutPolicy.parseSerial("100%", 7)).isEqualTo(7);
        assertThatThrownBy(() -> RolloutPolicy.parseSerial("0", 3)).hasMessageContaining("at least 1");
        assertThatThrownBy(() -> RolloutPolicy.parseSerial("x", 3)).hasMessageContaining("number or a percentage");
        assertThatThrownBy(() -> RolloutPolicy.parseSerial("0%", 3)).hasMessageContaining("1%..100%");
        assertThatThrownBy(() -> new RolloutPolicy(1, 101)).isInstanceOf(IllegalArgumentException.class);
    }
}
