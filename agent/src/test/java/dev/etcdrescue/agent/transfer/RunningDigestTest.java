package dev.etcdrescue.agent.transfer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunningDigestTest {
    @TempDir
    Path dir;

    @Test
    void theTrailerIsFoundWithAndWithoutAKnownSize() throws Exception {
        byte[] body = new byte[4096];
        new Random(1).nextBytes(body);
        byte[] trailer = MessageDigest.getInstance("SHA-256").digest(body);
        byte[] file = Arrays.copyOf(body, body.length + 32);
        System.arraycopy(trailer, 0, file, body.length, 32);
        Path path = Files.write(dir.resolve("s.db"), file);

        RunningDigest known = new RunningDigest(file.length);
        for (int i = 0; i < file.length; i += 1000) {
            known.update(file, i, Math.min(1000, file.length - i));
        }

        assertThat(known.hex()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(file)));
        assertThat(known.prefixDigest()).hasValueSatisfying(p -> assertThat(p).isEqualTo(trailer));
        assertThat(SnapshotInspector.hasHashTrailer(path, known.prefixDigest())).isTrue();
        assertThat(SnapshotInspector.hasHashTrailer(path, Optional.empty())).isTrue();

        Path raw = Files.write(dir.resolve("raw.db"), body);
        assertThat(SnapshotInspector.hasHashTrailer(raw, Optional.empty())).isFalse();
        file[10] ^= 1;
        Path tampered = Files.write(dir.resolve("t.db"), file);
        assertThat(SnapshotInspector.hasHashTrailer(tampered, Optional.empty())).isFalse();
    }

    @Test
    void aBufferUpdateGivesTheSameDigestsAsAnArrayUpdateAcrossTheTrailerBoundary() {
        byte[] bytes = new byte[3 * 512 + RunningDigest.TRAILER_BYTES];
        new Random(7).nextBytes(bytes);
        RunningDigest arrays = new RunningDigest(bytes.length);
        RunningDigest buffers = new RunningDigest(bytes.length);
        for (int at = 0; at < bytes.length; at += 100) {
            int n = Math.min(100, bytes.length - at);
            arrays.update(bytes, at, n);
            buffers.update(java.nio.ByteBuffer.wrap(bytes, at, n).asReadOnlyBuffer());
        }
        assertThat(buffers.hex()).isEqualTo(arrays.hex());
        assertThat(buffers.position()).isEqualTo(bytes.length);
        assertThat(buffers.prefixDigest().orElseThrow()).isEqualTo(arrays.prefixDigest().orElseThrow());
    }
}
