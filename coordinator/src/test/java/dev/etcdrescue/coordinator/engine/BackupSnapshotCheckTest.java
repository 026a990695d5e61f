package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.coordinator.inventory.SnapshotSource;
import dev.etcdrescue.proto.v1.SnapshotStatus;
import dev.etcdrescue.proto.v1.TransferResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What the coordinator checks of a backup its holder staged, against the manifest the holder listed. */
@Timeout(30)
class BackupSnapshotCheckTest {
    private static final String SHA = "ab".repeat(32);
    private static final SnapshotSource.Copy COPY = new SnapshotSource.Copy("echo-1", "bak-2", SHA, 1000, 42, "2026-12-06T03:01:02Z",
            "bak-1", "bak-1", "3.5.16");

    private static TransferResult.Builder staged() {
        return TransferResult.newBuilder().setTransferId("sha256-" + SHA.substring(0, 32)).setSha256(SHA).setSize(1000)
                .setHasHashTrailer(true).setSnapshotStatus(SnapshotStatus.newBuilder().setRevision(42).setTotalKeys(7));
    }

    @Test
    void theManifestsSnapshotPasses() {
        assertThat(BackupSnapshotStep.check(COPY, staged().build())).isEmpty();
    }

    @Test
    void anotherDigestSizeRevisionOrNoTrailerIsNamed() {
        assertThat(BackupSnapshotStep.check(COPY, staged().setSha256("cd".repeat(32)).build())).get().asString()
                .contains("staged with SHA-256 " + "cd".repeat(32), "its manifest says " + SHA);
        assertThat(BackupSnapshotStep.check(COPY, staged().setSize(999).build())).get().asString().contains("(999 bytes)");
        assertThat(BackupSnapshotStep.check(COPY, staged().setHasHashTrailer(false).build())).get().asString()
                .contains("without a valid SHA-256 trailer");
        assertThat(BackupSnapshotStep.check(COPY, staged().clearSnapshotStatus().build())).get().asString()
                .contains("without etcd's snapshot status");
        assertThat(BackupSnapshotStep.check(COPY, staged().setSnapshotStatus(SnapshotStatus.newBuilder().setRevision(41)).build()))
                .get().asString().contains("staged at revision 41, its manifest says 42");
    }
}
