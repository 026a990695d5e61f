package dev.etcdrescue.coordinator.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(10)
class ChunkSourceTest {
    @TempDir
    Path tmp;

    @Test
    void streamsAtTheSameOffsetShareOneReadAndEveryByteHandedOutIsCounted() throws Exception {
        byte[] bytes = new byte[10_000];
        new Random(1).nextBytes(bytes);
        Path file = Files.write(tmp.resolve("snap.db"), bytes);
        try (ChunkSource source = new ChunkSource(file, 4096, 3)) {
            ByteString first = source.chunk(0);
            assertThat(source.chunk(0)).isSameAs(first);
            assertThat(source.chunk(0)).isSameAs(first);
            assertThat(source.chunk(0)).as("taken by all 3 readers: read again").isNotSameAs(first).isEqualTo(first);
            ByteString last = source.chunk(8192);
            assertThat(last.size()).isEqualTo(10_000 - 8192);
            assertThat(last.toByteArray()).isEqualTo(java.util.Arrays.copyOfRange(bytes, 8192, 10_000));
            assertThat(source.bytesSent()).isEqualTo(4 * 4096 + (10_000 - 8192));
        }
    }

    @Test
    void aSlowStreamNeverMakesTheCacheGrowBeyondItsBound() throws Exception {
        Path file = Files.write(tmp.resolve("snap.db"), new byte[100 * 16]);
        try (ChunkSource source = new ChunkSource(file, 16, 2)) {
            for (long offset = 0; offset < 100 * 16; offset += 16) {
                source.chunk(offset);
            }
            // The second reader has taken nothing: only the first MAX_CACHED chunks were kept for it.
            ByteString cached = source.chunk((ChunkSource.MAX_CACHED - 1) * 16L);
            assertThat(cached.size()).isEqualTo(16);
            assertThat(source.bytesSent()).isEqualTo(101 * 16);
        }
    }
}
