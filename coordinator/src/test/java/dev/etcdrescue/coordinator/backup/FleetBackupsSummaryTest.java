package dev.etcdrescue.coordinator.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.proto.v1.BackupEntry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class FleetBackupsSummaryTest {
    private static final Instant NOW = Instant.parse("2026-12-05T12:00:00Z");

    private static BackupEntry backup(String id, Instant at, boolean trusted, String problem) {
        return BackupEntry.newBuilder().setId(id).setTakenAt(at.toString()).setTrusted(trusted).setProblem(problem).build();
    }

    @Test
    void theNewestTrustedBackupOfAnyHostIsTheClustersAndOthersDoNotCount() {
        List<FleetBackups.HostBackups> rows = List.of(
                new FleetBackups.HostBackups("a", "a-0", "x:7443", true, "", null, List.of(
                        backup("old", NOW.minus(Duration.ofHours(2)), true, ""),
                        backup("newest-but-forged", NOW.minus(Duration.ofMinutes(1)), false, "signature refused"))),
                new FleetBackups.HostBackups("a", "a-1", "y:7443", true, "", null, List.of(
                        backup("read-back-failed", NOW.minus(Duration.ofMinutes(2)), true, "has SHA-256 ..."),
                        backup("good", NOW.minus(Duration.ofMinutes(30)), true, ""))),
                new FleetBackups.HostBackups("a", "a-2", "z:7443", false, "", "agent z:7443 unreachable", List.of()),
                new FleetBackups.HostBackups("b", "b-0", "w:7443", true, "", null, List.of()));

        List<FleetBackups.ClusterBackups> summary = FleetBackups.summarize(rows, NOW);

        assertThat(summary).hasSize(2);
        FleetBackups.ClusterBackups a = summary.get(0);
        assertThat(a.newest()).get().extracting(BackupEntry::getId).isEqualTo("good");
        assertThat(a.age()).contains(Duration.ofMinutes(30));
        assertThat(a.trusted()).isEqualTo(2);
        assertThat(a.untrusted()).isEqualTo(2);
        assertThat(a.hostsAsked()).isEqualTo(3);
        assertThat(a.hostsConfigured()).isEqualTo(2);
        assertThat(a.lastDrill()).isEmpty();
        assertThat(summary.get(1).newest()).isEmpty();
        assertThat(summary.get(1).age()).isEmpty();
    }
}
