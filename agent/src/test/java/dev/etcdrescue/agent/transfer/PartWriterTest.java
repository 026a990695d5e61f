package dev.etcdrescue.agent.transfer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PartWriter on real files: whatever the pieces, the file holds exactly the bytes given, resumed or not. */
class PartWriterTest {
    @TempDir
    Path tmp;

    @Test
    void writesEveryByteInOrderAcrossPartialBlocksSyncsAndAResume() throws Exception {
        byte[] expected = new byte[3 * PartWriter.BUFFER_BYTES + 5_000];
        new Random(7).nextBytes(expected);
        Path part = tmp.resolve("t.part");
        Random sizes = new Random(11);
        int offset = 0;
        int resumeAt = PartWriter.BUFFER_BYTES + 777;
        try (PartWriter writer = PartWriter.open(part)) {
            assertThat(writer.direct()).as("the temp dir's file system takes O_DIRECT").isTrue();
            offset = writeRandomPieces(writer, expected, offset, resumeAt, sizes);
        }
        assertThat(Files.size(part)).isEqualTo(resumeAt);
        // Resumed at an offset that is not a block boundary: the partial block is read back and written again.
        try (PartWriter writer = PartWriter.open(part)) {
            writeRandomPieces(writer, expected, offset, expected.length, sizes);
        }
        assertThat(Files.readAllBytes(part)).isEqualTo(expected);
    }

    @Test
    void withoutDirectIoTheSameBytesGoThroughThePageCache() throws Exception {
        byte[] expected = new byte[100_003];
        new Random(3).nextBytes(expected);
        Path part = tmp.resolve("buffered.part");
        try (PartWriter writer = PartWriter.open(part, false)) {
            assertThat(writer.direct()).isFalse();
            writeRandomPieces(writer, expected, 0, 40_000, new Random(5));
        }
        try (PartWriter writer = PartWriter.open(part, false)) {
            writeRandomPieces(writer, expected, 40_000, expected.length, new Random(6));
        }
        assertThat(Files.readAllBytes(part)).isEqualTo(expected);
    }

    /** Writes expected[from, to) in pieces of random sizes from direct buffers, syncing now and then. */
    private static int writeRandomPieces(PartWriter writer, byte[] expected, int from, int to, Random sizes) throws Exception {
        int offset = from;
        while (offset < to) {
            int n = Math.min(to - offset, 1 + sizes.nextInt(300_000));
            ByteBuffer piece = ByteBuffer.allocateDirect(n).put(Arrays.copyOfRange(expected, offset, offset + n)).flip();
            writer.write(piece.asReadOnlyBuffer());
            if (sizes.nextBoolean()) {
                writer.endOfChunk();
            }
            offset += n;
            if (sizes.nextInt(4) == 0) {
                writer.sync();
            }
        }
        return offset;
    }
}
