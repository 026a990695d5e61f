package dev.etcdrescue.snapshotformat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.snapshotformat.SnapshotDigest.Trailer;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SnapshotDigestTest {
    @Test
    void theTrailerIsFoundWithoutKnowingTheSizeUpFront() throws Exception {
        byte[] file = withTrailer(randomBytes(4096, 1));

        SnapshotDigest digest = feed(file, 1000);

        assertThat(digest.hex()).isEqualTo(hex(sha256(file)));
        assertThat(digest.prefixDigest()).hasValueSatisfying(p -> assertThat(p).isEqualTo(Arrays.copyOfRange(file, 4096, 4128)));
        assertThat(digest.trailer()).isEqualTo(Trailer.VALID);
    }

    @Test
    void aRawDatabaseHasNoTrailerAndADamagedSnapshotAMismatch() throws Exception {
        byte[] raw = randomBytes(4096, 2);
        assertThat(feed(raw, 700).trailer()).as("size %% 512 == 0").isEqualTo(Trailer.ABSENT);

        byte[] damaged = withTrailer(raw);
        damaged[10] ^= 1;
        assertThat(feed(damaged, 700).trailer()).isEqualTo(Trailer.MISMATCH);

        byte[] truncated = Arrays.copyOf(withTrailer(raw), 4096 + 31);
        assertThat(feed(truncated, 700).trailer()).as("a trailer cut short is no trailer").isEqualTo(Trailer.ABSENT);
    }

    @Test
    void aBufferUpdateGivesTheSameDigestsAsAnArrayUpdateAcrossTheTrailerBoundary() throws Exception {
        byte[] bytes = randomBytes(3 * 512 + SnapshotDigest.TRAILER_BYTES, 7);
        SnapshotDigest arrays = new SnapshotDigest();
        SnapshotDigest buffers = new SnapshotDigest();
        for (int at = 0; at < bytes.length; at += 100) {
            int n = Math.min(100, bytes.length - at);
            arrays.update(bytes, at, n);
            buffers.update(ByteBuffer.wrap(bytes, at, n).asReadOnlyBuffer());
        }
        assertThat(buffers.hex()).isEqualTo(arrays.hex()).isEqualTo(hex(sha256(bytes)));
        assertThat(buffers.position()).isEqualTo(bytes.length);
        assertThat(buffers.prefixDigest().orElseThrow()).isEqualTo(arrays.prefixDigest().orElseThrow())
                .isEqualTo(sha256(Arrays.copyOf(bytes, bytes.length - 32)));
    }

    @Test
    void aDirectBufferIsReadToItsLimitAndNoFurther() throws Exception {
        byte[] bytes = randomBytes(2048 + 32, 9);
        ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length + 100);
        direct.put(bytes).put(new byte[100]).flip().limit(bytes.length);
        SnapshotDigest digest = new SnapshotDigest();
        digest.update(direct);
        assertThat(direct.remaining()).isZero();
        assertThat(digest.hex()).isEqualTo(hex(sha256(bytes)));
    }

    /** Pieces shorter than the trailer, at every split, as a slow stream may deliver them. */
    @Test
    void tinyPiecesHoldBackExactlyTheLast32Bytes() throws Exception {
        byte[] bytes = randomBytes(200, 3);
        for (int piece = 1; piece <= 40; piece++) {
            SnapshotDigest d = feed(bytes, piece);
            assertThat(d.hex()).as("pieces of %d", piece).isEqualTo(hex(sha256(bytes)));
            assertThat(d.prefixDigest().orElseThrow()).as("pieces of %d", piece).isEqualTo(sha256(Arrays.copyOf(bytes, 168)));
        }
        SnapshotDigest shorter = new SnapshotDigest();
        shorter.update(bytes, 0, 31);
        assertThat(shorter.prefixDigest()).isEmpty();
        assertThat(shorter.trailer()).isEqualTo(Trailer.ABSENT);
        assertThat(shorter.hex()).isEqualTo(hex(sha256(Arrays.copyOf(bytes, 31))));
    }

    @Test
    void onlySizesOfWholePagesPlus32MayHaveATrailer() {
        assertThat(SnapshotDigest.mayHaveTrailer(512 + 32)).isTrue();
        assertThat(SnapshotDigest.mayHaveTrailer(1_615_544_352L)).isTrue();
        assertThat(SnapshotDigest.mayHaveTrailer(32)).isFalse();
        assertThat(SnapshotDigest.mayHaveTrailer(512)).isFalse();
        assertThat(SnapshotDigest.mayHaveTrailer(512 + 33)).isFalse();
    }

    private static SnapshotDigest feed(byte[] bytes, int piece) {
        SnapshotDigest digest = new SnapshotDigest();
        for (int at = 0; at < bytes.length; at += piece) {
            digest.update(bytes, at, Math.min(piece, bytes.length - at));
        }
        return digest;
    }

    private static byte[] withTrailer(byte[] body) throws Exception {
        byte[] file = Arrays.copyOf(body, body.length + 32);
        System.arraycopy(sha256(body), 0, file, body.length, 32);
        return file;
    }

    private static byte[] randomBytes(int n, long seed) {
        byte[] bytes = new byte[n];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private static byte[] sha256(byte[] bytes) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(bytes);
    }

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }
}
