package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.InventoryLoader;
import dev.etcdrescue.coordinator.report.SnapshotSummary;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The snapshot a run took holds every key: removed after a verified recovery unless kept, and the report says which. */
@Timeout(30)
class SnapshotRetentionTest {
    @TempDir Path dir;

    @Test
    void aVerifiedRecoveryRemovesTheSnapshotItTook() throws IOException {
        RecoveryRun run = runWithSnapshot("snapshot_endpoints: [http://10.0.0.1:2379]", false);

        SnapshotRetention.settle(run, true);

        assertThat(run.snapshot.path()).doesNotExist();
        assertThat(run.snapshotSummary.kept()).isFalse();
        assertThat(run.snapshotSummary.retention()).startsWith("removed " + run.snapshot.path());
    }

    @Test
    void keepSnapshotKeepsItAndTheReportSaysWhere() throws IOException {
        RecoveryRun run = runWithSnapshot("snapshot_endpoints: [http://10.0.0.1:2379]", true);

        SnapshotRetention.settle(run, true);

        assertThat(run.snapshot.path()).exists();
        assertThat(run.snapshotSummary.kept()).isTrue();
        assertThat(run.snapshotSummary.retention()).startsWith("kept at " + run.snapshot.path() + " (--keep-snapshot)");
    }

    @Test
    void aFailedRunKeepsItForAResume() throws IOException {
        RecoveryRun run = runWithSnapshot("snapshot_endpoints: [http://10.0.0.1:2379]", false);

        SnapshotRetention.settle(run, false);

        assertThat(run.snapshot.path()).exists();
        assertThat(run.snapshotSummary.retention()).contains("for a resume");
    }

    @Test
    void aSnapshotFileFromTheInventoryIsNeverRemoved() throws IOException {
        Files.writeString(dir.resolve("backup.db"), "operator's");
        RecoveryRun run = runWithSnapshot("snapshot_file: " + dir.resolve("backup.db"), false);
        run.snapshot = new SnapshotFile(dir.resolve("backup.db"), 10, "x", SnapshotDigest.Trailer.VALID);

        SnapshotRetention.settle(run, true);

        assertThat(dir.resolve("backup.db")).exists();
        assertThat(run.snapshotSummary.retention()).isNull();
    }

    private RecoveryRun runWithSnapshot(String source, boolean keep) throws IOException {
        ClusterPlan plan = InventoryLoader.load(Files.writeString(dir.resolve("inventory.yaml"), """
                all:
                  children:
                    beta:
                      vars:
                        cluster_token: beta-restored
                        %s
                      hosts:
                        beta-0: {address: 10.0.0.1}
                """.formatted(source))).clusters().get(0);
        Path work = Files.createDirectories(dir.resolve("run"));
        RecoveryOptions d = RecoveryOptions.defaults(work);
        RecoveryOptions options = new RecoveryOptions(work, d.keepOld(), false, false, d.bumpRevision(), d.fencePort(), false,
                d.chunkSize(), d.claimTtl(), d.startTimeout(), d.verifyTimeout(), false, d.distribution(), d.fence(), keep);
        Journal journal = Journal.create(work, new Journal.Header("op-1", "beta", "inventory.yaml", "x", options));
        RecoveryRun run = new RecoveryRun(plan, options, "op-1", null, Map.of(), null, null, journal);
        Path snapshot = Files.writeString(work.resolve("snapshot.db"), "every key");
        run.snapshot = new SnapshotFile(snapshot, 9, "x", SnapshotDigest.Trailer.VALID);
        run.snapshotSummary = new SnapshotSummary("http://10.0.0.1:2379", snapshot.toString(), 9, "x", "valid", 1, 1, "0", 1, "3.5",
                null, null, null, null, null);
        return run;
    }
}
