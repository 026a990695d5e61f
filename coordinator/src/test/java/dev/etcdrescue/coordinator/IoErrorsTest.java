package dev.etcdrescue.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IoErrorsTest {
    @TempDir Path dir;

    @Test
    void theJdksFileErrorsReadAsTheShellWouldSayThem() throws Exception {
        Path missing = dir.resolve("missing.yaml");
        Path file = Files.writeString(dir.resolve("file"), "x");

        assertThat(IoErrors.describe(catchThrowableOfType(IOException.class, () -> Files.readString(missing))))
                .isEqualTo("no such file or directory: " + missing);
        assertThat(IoErrors.describe(catchThrowableOfType(IOException.class, () -> Files.createFile(file))))
                .isEqualTo("already exists: " + file);
        assertThat(IoErrors.describe(catchThrowableOfType(IOException.class, () -> Files.writeString(file.resolve("below"), "x"))))
                .isEqualTo("Not a directory: " + file.resolve("below"));
        assertThat(IoErrors.describe(catchThrowableOfType(IOException.class,
                () -> Files.move(dir.resolve("none"), dir.resolve("other")))))
                .startsWith("no such file or directory: " + dir.resolve("none"));
        assertThat(IoErrors.describe(new AccessDeniedException("/etc/etcd-rescue/tls/agent-key.pem")))
                .isEqualTo("permission denied: /etc/etcd-rescue/tls/agent-key.pem");
        assertThat(IoErrors.describe(new FileSystemException("/var/lib/etcd/x", null, "No space left on device")))
                .isEqualTo("No space left on device: /var/lib/etcd/x");
        assertThat(IoErrors.describe(new IOException("Stream closed"))).isEqualTo("Stream closed");
    }
}
