package dev.etcdrescue.coordinator.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotFileTest {
    @TempDir Path dir;

    /** A file shaped as etcd sends snapshots: bbolt pages (a multiple of 512) plus the SHA-256 of them. */
    private static byte[] snapshotBytes(int pages) throws Exception {
        byte[] db = new byte[pages * 4096];
        new Random(42).nextBytes(db);
        byte[] sum = MessageDigest.getInstance("SHA-256").digest(db);
        byte[] out = new byte[db.length + 32];
        System.arraycopy(db, 0, out, 0, db.length);
        System.arraycopy(sum, 0, out, db.length, 32);
        return out;
    }

    @Test
    void validTrailerIsRecognisedAndWholeFileDigestReported() throws Exception {
        byte[] bytes = snapshotBytes(700);
        Path f = Files.write(dir.resolve("s.db"), bytes);
        SnapshotFile s = SnapshotFile.inspect(f);
        assertThat(s.trailer()).isEqualTo(SnapshotDigest.Trailer.VALID);
        assertThat(s.size()).isEqualTo(bytes.length);
        assertThat(s.sha256()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
        assertThat(s.transferId()).startsWith("sha256-").hasSize(7 + 32);
    }

    @Test
    void oneFlippedByteAnywhereBreaksTheTrailer() throws Exception {
        byte[] bytes = snapshotBytes(300);
        for (int pos : new int[] {0, 4096 * 150 + 7, bytes.length - 33, bytes.length - 1}) {
            byte[] copy = bytes.clone();
            copy[pos] ^= 0x01;
            Path f = Files.write(dir.resolve("flip-" + pos), copy);
            assertThat(SnapshotFile.inspect(f).trailer()).as("flip at %d", pos).isEqualTo(SnapshotDigest.Trailer.MISMATCH);
        }
    }

    @Test
    void rawDbWithoutTrailerIsAbsentNotValid() throws Exception {
        byte[] db = new byte[8 * 4096];
        new Random(1).nextBytes(db);
        assertThat(SnapshotFile.inspect(Files.write(dir.resolve("db"), db)).trailer()).isEqualTo(SnapshotDigest.Trailer.ABSENT);
        assertThat(SnapshotFile.inspect(Files.write(dir.resolve("empty"), new byte[0])).trailer()).isEqualTo(SnapshotDigest.Trailer.ABSENT);
    }

    /** Checking while writing, in writes of any size (some shorter than the trailer), agrees with reading back. */
    @Test
    void checkingWhileWritingAgreesWithInspectingTheFile() throws Exception {
        byte[] valid = snapshotBytes(40);
        byte[] flipped = valid.clone();
        flipped[valid.length - 40] ^= 0x10;
        byte[] raw = java.util.Arrays.copyOf(valid, valid.length - 32);
        Random sizes = new Random(7);
        for (byte[] bytes : new byte[][] {valid, flipped, raw, new byte[5], new byte[0]}) {
            for (int round = 0; round < 20; round++) {
                Path f = dir.resolve("w-" + round);
                SnapshotFile.Checked out = SnapshotFile.checking(Files.newOutputStream(f));
                int pos = 0;
                while (pos < bytes.length) {
                    int n = Math.min(bytes.length - pos, round % 2 == 0 ? 1 + sizes.nextInt(40) : 1 + sizes.nextInt(9000));
                    out.write(bytes, pos, n);
                    pos += n;
                }
                out.close();
                assertThat(out.result(f)).as("round %d of a %d-byte file", round, bytes.length).isEqualTo(SnapshotFile.inspect(f));
                assertThat(out.result(f).sha256()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
            }
        }
        assertThat(SnapshotFile.inspect(Files.write(dir.resolve("v"), valid)).trailer()).isEqualTo(SnapshotDigest.Trailer.VALID);
        assertThat(SnapshotFile.inspect(Files.write(dir.resolve("f"), flipped)).trailer()).isEqualTo(SnapshotDigest.Trailer.MISMATCH);
    }
}
