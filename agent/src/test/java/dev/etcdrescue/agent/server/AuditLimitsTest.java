package dev.etcdrescue.agent.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.agent.server.ClaimManagerTest.MutableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The audit log cannot grow without bound, and one peer's refused calls cannot flood it. */
@Timeout(20)
class AuditLimitsTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    @TempDir
    Path tmp;

    @Test
    void theLogIsRotatedAtItsSizeAndKeepsAFewGenerations() throws Exception {
        AuditLog log = new AuditLog(tmp.resolve("audit.log"), clock, 1000);
        for (int i = 0; i < 200; i++) {
            log.record("coordinator", "Claim", "c", "op-" + i, "OK");
        }
        assertThat(Files.size(log.file())).isLessThan(1000 + 200);
        for (int n = 1; n <= AuditLog.KEPT; n++) {
            assertThat(log.generation(n)).exists();
        }
        assertThat(log.generation(AuditLog.KEPT + 1)).doesNotExist();
        assertThat(Files.readString(log.file())).contains("\"operation\":\"op-199\"");
    }

    @Test
    void aPeersRefusalsBeyondThePerMinuteBudgetAreCountedNotWritten() {
        RefusalThrottle throttle = new RefusalThrottle(clock);
        for (int i = 0; i < RefusalThrottle.PER_WINDOW; i++) {
            assertThat(throttle.admit("rogue")).isEqualTo(OptionalLong.of(0));
        }
        for (int i = 0; i < 500; i++) {
            assertThat(throttle.admit("rogue")).isEmpty();
        }
        assertThat(throttle.admit("someone-else")).isEqualTo(OptionalLong.of(0));

        clock.advance(Duration.ofMinutes(1));
        assertThat(throttle.admit("rogue")).isEqualTo(OptionalLong.of(500));
        assertThat(throttle.admit("rogue")).isEqualTo(OptionalLong.of(0));
    }
}
