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

    /** A snapshot still streaming in: a chunk goes out only once all its bytes are written, the last only once checked. */
    @Test
    void aGrowingFileHandsOutWholeChunksAndItsEndOnlyOnceComplete() throws Exception {
        Path file = tmp.resolve("growing.db");
        byte[] bytes = new byte[10_000];
        new Random(2).nextBytes(bytes);
        Files.write(file, new byte[0]);
        try (GrowingFile growing = new GrowingFile(); ChunkSource source = new ChunkSource(file, 4096, 1, growing)) {
            assertThat(source.size()).isEqualTo(-1);
            assertThat(source.ready(0)).isFalse();
            java.util.concurrent.CountDownLatch woken = new java.util.concurrent.CountDownLatch(1);
            source.whenReady(0, woken::countDown);

            Files.write(file, java.util.Arrays.copyOf(bytes, 5000));
            growing.wrote(5000);
            assertThat(woken.await(5, java.util.concurrent.TimeUnit.SECONDS)).as("the waiting reader is called back").isTrue();
            assertThat(source.ready(0)).isTrue();
            assertThat(source.chunk(0).toByteArray()).isEqualTo(java.util.Arrays.copyOf(bytes, 4096));
            assertThat(source.ready(4096)).as("904 of its 4096 bytes are written").isFalse();

            Files.write(file, bytes);
            growing.wrote(5000);
            assertThat(source.ready(8192)).as("1808 bytes, and the file may still grow").isFalse();
            growing.complete(10_000, "ab".repeat(32));
            assertThat(source.size()).isEqualTo(10_000);
            assertThat(source.ready(8192)).isTrue();
            assertThat(source.chunk(8192).toByteArray()).isEqualTo(java.util.Arrays.copyOfRange(bytes, 8192, 10_000));
            assertThat(source.finalSha256()).hasValue("ab".repeat(32));
            assertThat(source.failure()).isEmpty();
        }
    }

    @Test
    void aFailedGrowingFileLetsItsReadersGiveUpButNeverFinish() throws Exception {
        Path file = Files.write(tmp.resolve("failed.db"), new byte[0]);
        try (GrowingFile growing = new GrowingFile(); ChunkSource source = new ChunkSource(file, 4096, 1, growing)) {
            java.util.concurrent.CountDownLatch woken = new java.util.concurrent.CountDownLatch(1);
            source.whenReady(0, woken::countDown);
            growing.fail("the snapshot failed its checks");
            assertThat(woken.await(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(source.failure()).hasValue("the snapshot failed its checks");
            assertThat(source.size()).as("never finished: no reader may send a last chunk").isEqualTo(-1);
            assertThat(source.finalSha256()).isEmpty();
            growing.complete(0, "ab".repeat(32));
            assertThat(source.failure()).as("a late completion does not undo the failure").isPresent();
            assertThat(source.size()).isEqualTo(-1);
        }
    }

    /** etcd writes its snapshot in 32 KiB pieces: a reader waiting for a 1 MiB chunk is woken once, when it is whole. */
    @Test
    void aWaitingReaderIsCalledBackOnceWhenItsChunkIsWrittenNotOnEveryWrite() throws Exception {
        try (GrowingFile growing = new GrowingFile()) {
            java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.CountDownLatch woken = new java.util.concurrent.CountDownLatch(1);
            growing.whenGrown(4096, () -> {
                calls.incrementAndGet();
                woken.countDown();
            });
            for (int i = 0; i < 3; i++) {
                growing.wrote(1024);
            }
            assertThat(growing.waitingReaders()).as("3072 of 4096 bytes: still waiting").isEqualTo(1);
            growing.wrote(1024);
            growing.wrote(1024);
            assertThat(woken.await(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(growing.waitingReaders()).isZero();
            assertThat(calls.get()).isEqualTo(1);
        }
    }

    /** A reader that registers after its bytes arrived (or after the end) is called back at once: no lost wake-up. */
    @Test
    void aReaderRegisteringAfterItsBytesOrTheEndIsCalledBackAtOnce() throws Exception {
        try (GrowingFile growing = new GrowingFile()) {
            growing.wrote(8192);
            java.util.concurrent.CountDownLatch written = new java.util.concurrent.CountDownLatch(1);
            growing.whenGrown(8192, written::countDown);
            assertThat(written.await(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();

            growing.complete(8192, "ab".repeat(32));
            java.util.concurrent.CountDownLatch ended = new java.util.concurrent.CountDownLatch(1);
            growing.whenGrown(8192 + 4096, ended::countDown);
            assertThat(ended.await(5, java.util.concurrent.TimeUnit.SECONDS)).as("the file is finished: nothing more comes").isTrue();
        }
    }

    /** Once the distribution closed the file, a late registration or write calls nobody and throws nothing. */
    @Test
    void aClosedGrowingFileCallsNoReaderBack() throws Exception {
        GrowingFile growing = new GrowingFile();
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        growing.whenGrown(4096, calls::incrementAndGet);
        growing.close();
        growing.wrote(8192);
        growing.whenGrown(0, calls::incrementAndGet);
        Thread.sleep(100);
        assertThat(calls.get()).isZero();
        assertThat(growing.callbacks()).isZero();
    }
}
