package dev.etcdrescue.coordinator.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Modes whatever the umask (the test JVM's is usually 022), and no write through a planted link. */
@Timeout(30)
class PrivateFilesTest {
    @TempDir Path dir;

    @Test
    void directoriesAre0700AndFiles0600() throws IOException {
        Path runs = PrivateFiles.createDirectories(dir.resolve("state/etcd-rescue/runs/op-1"));
        try (FileChannel channel = PrivateFiles.replaceWithNew(runs.resolve("snapshot.db.part"))) {
            channel.write(ByteBuffer.wrap(new byte[] {1}));
        }
        try (FileChannel channel = PrivateFiles.append(runs.resolve("journal.jsonl"))) {
            channel.write(ByteBuffer.wrap(new byte[] {1}));
        }
        PrivateFiles.writeAtomically(runs.resolve("report.json"), "{}".getBytes(StandardCharsets.UTF_8));

        for (Path d : new Path[] {dir.resolve("state"), dir.resolve("state/etcd-rescue"), runs}) {
            assertThat(mode(d)).as(d.toString()).isEqualTo("rwx------");
        }
        for (String f : new String[] {"snapshot.db.part", "journal.jsonl", "report.json"}) {
            assertThat(mode(runs.resolve(f))).as(f).isEqualTo("rw-------");
        }
    }

    @Test
    void aLinkPlantedAtAPartFileNameIsReplacedNotWrittenThrough() throws IOException {
        Path victim = Files.writeString(dir.resolve(".bashrc"), "the operator's");
        Path part = Files.createSymbolicLink(dir.resolve("nightly.db.part"), victim);

        try (FileChannel channel = PrivateFiles.replaceWithNew(part)) {
            channel.write(ByteBuffer.wrap("snapshot".getBytes(StandardCharsets.UTF_8)));
        }

        assertThat(Files.readString(victim)).isEqualTo("the operator's");
        assertThat(mode(victim)).isNotEqualTo("rw-------");
        assertThat(Files.isSymbolicLink(part)).isFalse();
        assertThat(Files.readString(part)).isEqualTo("snapshot");
    }

    @Test
    void aLinkAtTheJournalIsRefusedAndAReportReplacesALinkWithoutFollowingIt() throws IOException {
        Path victim = Files.writeString(dir.resolve("victim"), "kept");
        Path journal = Files.createSymbolicLink(dir.resolve("journal.jsonl"), victim);
        Path report = Files.createSymbolicLink(dir.resolve("report.json"), victim);

        assertThatThrownBy(() -> PrivateFiles.append(journal)).isInstanceOf(IOException.class);
        PrivateFiles.writeAtomically(report, "{}".getBytes(StandardCharsets.UTF_8));

        assertThat(Files.readString(victim)).isEqualTo("kept");
        assertThat(Files.isSymbolicLink(report)).isFalse();
        assertThat(mode(report)).isEqualTo("rw-------");
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }
}
