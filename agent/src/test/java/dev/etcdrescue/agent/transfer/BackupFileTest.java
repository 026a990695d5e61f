package dev.etcdrescue.agent.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.AgentException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** DownloadSnapshot's open of a backup file: links refused at open time, not only at check time. */
@Timeout(60)
class BackupFileTest {
    @TempDir
    Path base;

    private Path root;
    private Path secret;

    @BeforeEach
    void setUp() throws IOException {
        root = Files.createDirectories(base.resolve("backups"));
        secret = Files.writeString(base.resolve("agent-key.pem"), "SECRET");
    }

    @Test
    void aRegularFileInTheRootOrASubdirectoryIsOpened() throws IOException {
        Path top = Files.writeString(root.resolve("a.db"), "top");
        Path file = Files.writeString(Files.createDirectories(root.resolve("nightly")).resolve("a.db"), "backup");

        assertThat(read(BackupFile.open(root, top))).isEqualTo("top");
        assertThat(read(BackupFile.open(root, file))).isEqualTo("backup");
    }

    @Test
    void aLinkAtTheFileOrOnTheWayIsRefused() throws IOException {
        Path link = Files.createSymbolicLink(root.resolve("a.db"), secret);
        Files.createSymbolicLink(root.resolve("dir"), base);

        assertThatThrownBy(() -> BackupFile.open(root, link)).isInstanceOf(AgentException.class)
                .hasMessageContaining("symbolic links");
        assertThatThrownBy(() -> BackupFile.open(root, root.resolve("dir/agent-key.pem")))
                .isInstanceOf(AgentException.class).hasMessageContaining("symbolic links");
    }

    @Test
    void aFifoIsRefusedWithoutBlocking() throws Exception {
        Path fifo = root.resolve("a.db");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();

        assertThatThrownBy(() -> BackupFile.open(root, fifo)).isInstanceOf(AgentException.class)
                .hasMessageContaining("not a regular file");
    }

    @Test
    void aFileSwappedForALinkAfterTheCheckNeverServesTheLinksTarget() throws Exception {
        Path file = Files.writeString(root.resolve("a.db"), "backup");
        Path real = root.resolve("a.db.real");
        Path link = Files.createSymbolicLink(root.resolve("a.db.link"), secret);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger swaps = new AtomicInteger();
        Thread swapper = new Thread(() -> {
            try {
                while (!stop.get()) {
                    Files.move(file, real, StandardCopyOption.ATOMIC_MOVE);
                    Files.move(link, file, StandardCopyOption.ATOMIC_MOVE);
                    swaps.incrementAndGet();
                    Files.move(file, link, StandardCopyOption.ATOMIC_MOVE);
                    Files.move(real, file, StandardCopyOption.ATOMIC_MOVE);
                    Thread.sleep(0, 200_000);
                }
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        swapper.start();
        int opened = 0;
        try {
            for (int i = 0; i < 2000; i++) {
                try {
                    assertThat(read(BackupFile.open(root, file))).isEqualTo("backup");
                    opened++;
                } catch (AgentException refused) {
                    // a link or a missing name at that instant: refused is right
                }
            }
        } finally {
            stop.set(true);
            swapper.join();
        }
        assertThat(swaps.get()).isPositive();
        assertThat(opened).as("some opens found the real file").isPositive();
    }

    private static String read(SeekableByteChannel channel) throws IOException {
        try (channel) {
            ByteBuffer buffer = ByteBuffer.allocate((int) channel.size());
            while (buffer.hasRemaining() && channel.read(buffer) >= 0) {
                // fill
            }
            return new String(buffer.array(), StandardCharsets.UTF_8);
        }
    }
}
