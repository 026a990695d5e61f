package dev.etcdrescue.agent.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.proto.v1.OperationHeader;
import io.grpc.Status;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClaimManagerTest {
    private static final Duration MAX = Duration.ofMinutes(10);
    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    @TempDir
    Path dir;

    @Test
    void aFreeAgentIsClaimedAndTheTtlIsCapped() {
        ClaimManager claims = new ClaimManager(dir.resolve("claim.json"), clock, MAX);

        var claim = claims.claim(header("op-1"), Duration.ofHours(5).toMillis());

        assertThat(claim.getValidUntilUnixMs()).isEqualTo(clock.millis() + MAX.toMillis());
        claims.requireHeld(header("op-1"));
    }

    @Test
    void aForeignOperationIsRefusedNamingTheHolderUntilTheClaimExpires() {
        ClaimManager claims = new ClaimManager(dir.resolve("claim.json"), clock, MAX);
        claims.claim(header("op-1"), 60_000);

        assertThatThrownBy(() -> claims.claim(header("op-2"), 60_000))
                .isInstanceOfSatisfying(AgentException.class, e -> {
                    assertThat(e.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getMessage()).contains("op-1", "2026-01-01T00:01:00Z");
                });
        assertThatThrownBy(() -> claims.requireHeld(header("op-2"))).isInstanceOf(AgentException.class);

        clock.advance(Duration.ofSeconds(61));
        assertThatThrownBy(() -> claims.requireHeld(header("op-1"))).hasMessageContaining("expired");
        assertThat(claims.claim(header("op-2"), 60_000).getOperationId()).isEqualTo("op-2");
    }

    @Test
    void theHolderRenewsAndReleases() {
        ClaimManager claims = new ClaimManager(dir.resolve("claim.json"), clock, MAX);
        claims.claim(header("op-1"), 60_000);
        clock.advance(Duration.ofSeconds(50));

        assertThat(claims.renew(header("op-1"), 60_000).getValidUntilUnixMs()).isEqualTo(clock.millis() + 60_000);
        assertThatThrownBy(() -> claims.renew(header("op-2"), 60_000)).hasMessageContaining("claimed by operation op-1");
        assertThatThrownBy(() -> claims.release(header("op-2"))).isInstanceOf(AgentException.class);
        assertThat(claims.release(header("op-1"))).isTrue();
        assertThat(claims.current()).isEmpty();
        assertThat(claims.release(header("op-1"))).isFalse();
    }

    @Test
    void theClaimSurvivesANewInstance() {
        new ClaimManager(dir.resolve("claim.json"), clock, MAX).claim(header("op-1"), 60_000);

        ClaimManager restarted = new ClaimManager(dir.resolve("claim.json"), clock, MAX);

        assertThat(restarted.current()).hasValueSatisfying(c -> assertThat(c.getOperationId()).isEqualTo("op-1"));
        assertThatThrownBy(() -> restarted.claim(header("op-2"), 1000)).isInstanceOf(AgentException.class);
        restarted.requireHeld(header("op-1"));
    }

    @Test
    void theSameOperationForAnotherClusterIsRefused() {
        ClaimManager claims = new ClaimManager(dir.resolve("claim.json"), clock, MAX);
        claims.claim(header("op-1"), 60_000);

        OperationHeader otherCluster = header("op-1").toBuilder().setClusterName("other").build();
        assertThatThrownBy(() -> claims.requireHeld(otherCluster)).hasMessageContaining("for cluster beta");
    }

    private static OperationHeader header(String op) {
        return OperationHeader.newBuilder().setClusterName("beta").setOperationId(op).setHostName("h").build();
    }

    static final class MutableClock extends Clock {
        private Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
