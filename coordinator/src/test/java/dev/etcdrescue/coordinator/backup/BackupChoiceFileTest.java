package dev.etcdrescue.coordinator.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.SnapshotSource;
import dev.etcdrescue.proto.v1.BackupEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The copies a {@code recover --from-backup} chose, written into its work dir and read back by {@code resume}. */
@Timeout(30)
class BackupChoiceFileTest {
    @TempDir
    Path dir;

    private static BackupCandidates.Candidate copy(String holder, String copyFrom) {
        return new BackupCandidates.Candidate(BackupEntry.newBuilder().setId("echo-20261206T030102.114Z-r1042").setTrusted(true)
                .setSnapshotSha256("ab".repeat(32)).setSnapshotSize(2_723_872).setRevision(1042).setTakenAt("2026-12-06T03:01:02.114Z")
                .setTakenBy("bak-1").setCopyFrom(copyFrom).setEtcdVersion("3.4.23").build(), holder);
    }

    @Test
    void theChoiceReadsBackAsItWasWrittenInOrder() throws Exception {
        SnapshotSource.Backup written = BackupFetch.source("latest", List.of(copy("bak-0", "bak-1"), copy("bak-2", "bak-1")), dir);

        SnapshotSource.Backup read = BackupFetch.chosen(dir).orElseThrow();

        assertThat(read).isEqualTo(written);
        assertThat(read.inOrder()).extracting(SnapshotSource.Copy::holder).containsExactly("bak-0", "bak-2");
        assertThat(read.inOrder().get(0).describe()).isEqualTo("echo-20261206T030102.114Z-r1042 (copy from bak-1) on bak-0");
        assertThat(read.inOrder().get(0).snapshotSize()).isEqualTo(2_723_872);
        assertThat(BackupFetch.chosen(dir.resolve("elsewhere"))).as("a run that did not restore from a backup").isEmpty();
    }

    @Test
    void aDamagedChoiceIsNamed() throws Exception {
        Files.writeString(dir.resolve(BackupFetch.CHOICE), "latest\nonly\ttwo\n");
        assertThatThrownBy(() -> BackupFetch.chosen(dir)).isInstanceOf(UserException.class)
                .hasMessageContaining(BackupFetch.CHOICE + " is damaged (a line with 2 fields, not 10)");
    }

    @Test
    void aCopyInObjectStorageKeepsItsLocationAndAnOlderNineFieldChoiceStillReads() throws Exception {
        BackupCandidates.Candidate inStore = new BackupCandidates.Candidate(copy("bak-0", "").backup().toBuilder()
                .setLocation("s3://etcd-backups/etcd/").build(), "bak-0");
        BackupFetch.source("latest", List.of(inStore), dir);

        SnapshotSource.Copy read = BackupFetch.chosen(dir).orElseThrow().inOrder().get(0);

        assertThat(read.inObjectStore()).isTrue();
        assertThat(read.describe()).isEqualTo("echo-20261206T030102.114Z-r1042 in s3://etcd-backups/etcd/ (through bak-0's agent)");
        Files.writeString(dir.resolve(BackupFetch.CHOICE), "latest\n" + String.join("\t", "id-1", "bak-0", "ab".repeat(32), "10", "7",
                "2026-12-06T03:01:02.114Z", "bak-0", "", "3.4.23") + "\n");
        assertThat(BackupFetch.chosen(dir).orElseThrow().inOrder().get(0).inObjectStore()).isFalse();
    }
}
