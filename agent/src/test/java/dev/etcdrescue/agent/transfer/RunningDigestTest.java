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
    void theTrailerIsFoundWithoutKnowingTheSizeUpFront() throws Exception {
        byte[] body = new byte[4096];
        new Random(1).nextBytes(body);
        byte[] trailer = MessageDigest.getInstance("SHA-256").digest(body);
        byte[] file = Arrays.copyOf(body, body.length + 32);
        System.arraycopy(trailer, 0, file, body.length, 32);
        Path path = Files.write(dir.resolve("s.db"), file);

        RunningDigest known = new RunningDigest();
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
    void aBufferUpdateGivesTheSameDigestsAsAnArrayUpdateAcrossTheTrailerBoundary() throws Exception {
        byte[] bytes = new byte[3 * 512 + RunningDigest.TRAILER_BYTES];
        new Random(7).nextBytes(bytes);
        RunningDigest arrays = new RunningDigest();
        RunningDigest buffers = new RunningDigest();
        for (int at = 0; at < bytes.length; at += 100) {
            int n = Math.min(100, bytes.length - at);
            arrays.update(bytes, at, n);
            buffers.update(java.nio.ByteBuffer.wrap(bytes, at, n).asReadOnlyBuffer());
        }
        assertThat(buffers.hex()).isEqualTo(arrays.hex());
        assertThat(buffers.position()).isEqualTo(bytes.length);
        assertThat(buffers.prefixDigest().orElseThrow()).isEqualTo(arrays.prefixDigest().orElseThrow());
        assertThat(buffers.prefixDigest().orElseThrow()).isEqualTo(sha256(Arrays.copyOf(bytes, bytes.length - 32)));
    }

    /** Pieces shorter than the trailer, at every split, as a slow stream may deliver them. */
    @Test
    void tinyPiecesHoldBackExactlyTheLast32Bytes() throws Exception {
        byte[] bytes = new byte[200];
        new Random(3).nextBytes(bytes);
        for (int piece = 1; piece <= 40; piece++) {
            RunningDigest d = new RunningDigest();
            for (int at = 0; at < bytes.length; at += piece) {
                d.update(bytes, at, Math.min(piece, bytes.length - at));
            }
            assertThat(d.hex()).as("pieces of %d", piece).isEqualTo(HexFormat.of().formatHex(sha256(bytes)));
            assertThat(d.prefixDigest().orElseThrow()).as("pieces of %d", piece).isEqualTo(sha256(Arrays.copyOf(bytes, 168)));
        }
        RunningDigest shorter = new RunningDigest();
        shorter.update(bytes, 0, 31);
        assertThat(shorter.prefixDigest()).isEmpty();
        assertThat(shorter.hex()).isEqualTo(HexFormat.of().formatHex(sha256(Arrays.copyOf(bytes, 31))));
    }

    private static byte[] sha256(byte[] bytes) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(bytes);
    }
}
