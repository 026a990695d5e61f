package dev.etcdrescue.agent.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a killed agent's backup work leaves in staging goes at the next start; a transfer's files (staged
 * snapshots, partial uploads) and a link's target are not touched.
 */
@Timeout(30)
class BackupScratchTest {
    @Test
    void theBackupCodesScratchGoesAndNothingElse(@TempDir Path staging, @TempDir Path outside) throws Exception {
        Path drill = Files.createDirectories(staging.resolve("drill-1b2c/data/member/snap"));
        Files.writeString(drill.resolve("db"), "throwaway member");
        Files.writeString(outside.resolve("precious"), "not ours");
        Files.createSymbolicLink(staging.resolve("drill-1b2c/link"), outside.resolve("precious"));
        Files.writeString(staging.resolve("backup-9f.db.part"), "half a snapshot");
        Files.writeString(staging.resolve("backup-unpack-77.db"), "unpacked");
        Files.writeString(staging.resolve("verify-b1-3.db"), "read back");
        Files.writeString(staging.resolve("fetch-b1-4.db"), "fetched");
        Files.writeString(staging.resolve("sha256-abcd.db"), "a staged transfer");
        Files.writeString(staging.resolve("sha256-abcd.part"), "a partial transfer");

        assertThat(BackupScratch.removeLeftBehind(staging)).hasSize(5);

        try (Stream<Path> left = Files.list(staging)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("sha256-abcd.db", "sha256-abcd.part");
        }
        assertThat(Files.readString(outside.resolve("precious"))).isEqualTo("not ours");
    }

    @Test
    void noStagingDirYetIsNothingToDo(@TempDir Path root) throws Exception {
        assertThat(BackupScratch.removeLeftBehind(root.resolve("staging"))).isEmpty();
    }
}
