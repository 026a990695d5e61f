package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.coordinator.failure.UserException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CoordinatorFailpointsTest {
    @Test
    void unsetArmsNothing() throws Exception {
        assertThat(CoordinatorFailpoints.fromEnvironment(Map.of()).isArmed()).isFalse();
        CoordinatorFailpoints.fromEnvironment(Map.of(CoordinatorFailpoints.ENV, " ")).hit(CoordinatorFailpoints.ROLLBACK_AFTER_HOST);
    }

    @Test
    void killFiresOnlyTheCountedNumberOfTimesWith137() throws Exception {
        List<Integer> halts = new ArrayList<>();
        CoordinatorFailpoints f = CoordinatorFailpoints.parse("rollback.afterHost=1*kill", halts::add);
        f.hit(CoordinatorFailpoints.ROLLBACK_AFTER_HOST);
        f.hit(CoordinatorFailpoints.ROLLBACK_AFTER_HOST);
        assertThat(halts).containsExactly(137);
    }

    @Test
    void sleepPauses() throws Exception {
        CoordinatorFailpoints f = CoordinatorFailpoints.parse("rollback.afterHost=sleep(200ms)", code -> { });
        long t0 = System.nanoTime();
        f.hit(CoordinatorFailpoints.ROLLBACK_AFTER_HOST);
        assertThat(System.nanoTime() - t0).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(200));
    }

    @Test
    void anUnknownNameOrActionIsABadInputNamingIt() {
        assertThatThrownBy(() -> CoordinatorFailpoints.parse("rollback.afterHots=kill", c -> { }))
                .isInstanceOf(UserException.class).hasMessageContaining("rollback.afterHots").hasMessageContaining("rollback.afterHost");
        assertThatThrownBy(() -> CoordinatorFailpoints.parse("rollback.afterHost=explode", c -> { }))
                .isInstanceOf(UserException.class).hasMessageContaining("explode");
        assertThatThrownBy(() -> CoordinatorFailpoints.parse("rollback.afterHost=kill;rollback.afterHost=kill", c -> { }))
                .isInstanceOf(UserException.class).hasMessageContaining("given twice");
    }
}
