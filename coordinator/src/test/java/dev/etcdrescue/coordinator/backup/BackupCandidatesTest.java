package dev.etcdrescue.coordinator.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.proto.v1.BackupEntry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class BackupCandidatesTest {
    private static final Instant NOW = Instant.parse("2026-12-05T12:00:00Z");
    private static final Instant NEWEST = NOW.minus(Duration.ofMinutes(5));
    private static final Instant OLDER = NOW.minus(Duration.ofMinutes(35));

    private static BackupEntry own(String id, Instant at, String taker) {
        return BackupEntry.newBuilder().setId(id).setTakenAt(at.toString()).setTakenBy(taker).setTrusted(true).build();
    }

    private static BackupEntry copy(String id, Instant at, String taker) {
        return own(id, at, taker).toBuilder().setCopyFrom(taker).setCopiedAt(at.plusSeconds(2).toString()).build();
    }

    private static FleetBackups.HostBackups host(String name, BackupEntry... backups) {
        return new FleetBackups.HostBackups("echo", name, name + ":7443", true, "", null, List.of(backups));
    }

    private static BackupEntry stored(String id, Instant at, String taker, String problem) {
        return own(id, at, taker).toBuilder().setLocation("s3://b/p/").setProblem(problem).build();
    }

    @Test
    void aCopyInObjectStorageIsListedOnceAndTriedAfterTheAgentsCopiesOfTheSameBackup() {
        List<FleetBackups.HostBackups> hosts = BackupCandidates.objectCopiesOnce(List.of(
                host("h-0", stored("new", NEWEST, "h-1", "cannot be read from s3://b/p/: timeout"), stored("old", OLDER, "h-0", "")),
                host("h-1", own("new", NEWEST, "h-1"), stored("new", NEWEST, "h-1", ""), stored("old", OLDER, "h-0", "")),
                host("h-2", stored("new", NEWEST, "h-1", ""))));

        assertThat(hosts.get(0).backups()).extracting(BackupEntry::getId).as("h-0 stands for old, h-1 read new back whole")
                .containsExactly("old");
        assertThat(hosts.get(1).backups()).extracting(BackupEntry::getId).containsExactly("new", "new");
        assertThat(hosts.get(2).backups()).isEmpty();
        BackupCandidates.Choice c = BackupCandidates.order(hosts, "latest");
        assertThat(c.inOrder()).extracting(BackupCandidates.Candidate::describe).containsExactly(
                "new on h-1", "new in s3://b/p/ (through h-1's agent)", "old in s3://b/p/ (through h-0's agent)");
        assertThat(c.passedOver()).isEmpty();
    }

    @Test
    void theNewestBackupComesFirstTheTakersOwnBeforeThePeersCopyThenTheOlderOne() {
        List<FleetBackups.HostBackups> hosts = List.of(
                host("h-0", copy("new", NEWEST, "h-1"), own("old", OLDER, "h-0")),
                host("h-1", own("new", NEWEST, "h-1"), copy("old", OLDER, "h-0")),
                host("h-2"));

        BackupCandidates.Choice c = BackupCandidates.order(hosts, "latest");

        assertThat(c.inOrder()).extracting(BackupCandidates.Candidate::describe).containsExactly(
                "new on h-1", "new (copy from h-1) on h-0", "old on h-0", "old (copy from h-0) on h-1");
        assertThat(c.passedOver()).isEmpty();
        assertThat(BackupCandidates.order(hosts, "old").inOrder()).extracting(BackupCandidates.Candidate::holder)
                .containsExactly("h-0", "h-1");
    }

    @Test
    void aCopyWhoseManifestOrFileDoesNotHoldAndAnAgentNotAskedArePassedOverWithTheReason() {
        List<FleetBackups.HostBackups> hosts = List.of(
                host("h-0", BackupEntry.newBuilder().setId("new").setProblem("signature refused: not an agent's").build(),
                        own("old", OLDER, "h-0")),
                host("h-1", own("new", NEWEST, "h-1").toBuilder().setProblem("new.db.zst has SHA-256 ab, the manifest says cd").build()),
                new FleetBackups.HostBackups("echo", "h-2", "h-2:7443", false, "", "agent h-2:7443 unreachable", List.of()));

        BackupCandidates.Choice c = BackupCandidates.order(hosts, "latest");

        assertThat(c.inOrder()).extracting(BackupCandidates.Candidate::describe).containsExactly("old on h-0");
        assertThat(c.passedOver()).containsExactly("new on h-0: signature refused: not an agent's",
                "new on h-1: does not read back: new.db.zst has SHA-256 ab, the manifest says cd",
                "h-2 not asked: agent h-2:7443 unreachable");
    }

    @Test
    void verifyFailsOnlyWhenNoCopyOfTheNewestBackupReadsBackWhole() {
        BackupEntry newestOnH1 = own("new", NEWEST, "h-1").toBuilder().setReadBackOk(true).build();
        BackupEntry brokenCopy = copy("new", NEWEST, "h-1").toBuilder().setProblem("zstd: corrupted").build();
        BackupEntry oldGood = own("old", OLDER, "h-0").toBuilder().setReadBackOk(true).build();

        assertThat(BackupCandidates.newestWithoutGoodCopy("echo", List.of(host("h-0", brokenCopy, oldGood), host("h-1", newestOnH1))))
                .as("one good copy of the newest is enough").isEmpty();

        BackupEntry newestBroken = newestOnH1.toBuilder().setReadBackOk(false).setProblem("has SHA-256 ab, the manifest says cd").build();
        assertThat(BackupCandidates.newestWithoutGoodCopy("echo", List.of(host("h-0", brokenCopy, oldGood), host("h-1", newestBroken))))
                .as("an older good backup does not make up for the newest").hasValueSatisfying(why -> assertThat(why)
                        .contains("echo: the newest backup new has no good copy", "h-0: zstd: corrupted", "h-1: has SHA-256 ab"));

        assertThat(BackupCandidates.newestWithoutGoodCopy("echo", List.of(host("h-0")))).hasValueSatisfying(why -> assertThat(why)
                .contains("no backup with a trusted manifest"));
    }
}
