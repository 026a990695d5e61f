package dev.etcdrescue.coordinator.agent;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;

/**
 * The snapshot file cut into chunks for several upload streams at once: each chunk is read once and
 * the same bytes (one ByteString, never copied) go to every stream that asks for that offset. Streams
 * run at different speeds, so a chunk stays cached until every stream has taken it, but never more
 * than {@link #MAX_CACHED} chunks: past that, a slow stream reads its chunk again (from the page cache).
 * Counts the chunk bytes handed out, which is what the coordinator sends to agents. The file may still be
 * growing ({@link GrowingFile}): a chunk is then handed out once all its bytes are written.
 */
public final class ChunkSource implements AutoCloseable {
    static final int MAX_CACHED = 16;

    private record Cached(ByteString data, int[] readersLeft) {}

    private final FileChannel in;
    private final long size;
    private final int chunkSize;
    private final int readers;
    private final Map<Long, Cached> cache = new HashMap<>();
    private final LongAdder sent = new LongAdder();
    /** For a file still being written (a snapshot streaming in), else null. */
    private final GrowingFile growing;

    /** @param readers how many streams will read every chunk (1 for a single upload or a relay) */
    public ChunkSource(Path file, int chunkSize, int readers) throws IOException {
        this(file, chunkSize, readers, null);
    }

    /** A file that {@code growing} says is still being written: chunks are handed out as its bytes arrive. */
    public ChunkSource(Path file, int chunkSize, int readers, GrowingFile growing) throws IOException {
        this.in = FileChannel.open(file, StandardOpenOption.READ);
        this.size = growing == null ? in.size() : -1;
        this.chunkSize = chunkSize;
        this.readers = readers;
        this.growing = growing;
    }

    /** The file's size, or -1 while a growing file is not finished. */
    public long size() {
        return growing == null ? size : growing.finalSize();
    }

    /** Whether the chunk at {@code offset} can be handed out now (always, for a finished file). */
    public boolean ready(long offset) {
        return growing == null || growing.readable(offset, chunkSize);
    }

    /**
     * Calls {@code reader} back once the chunk at {@code offset} can be handed out (for a growing file:
     * all its bytes are written, or the file is finished, or failed).
     */
    public void whenReady(long offset, Runnable reader) {
        if (growing == null) {
            reader.run();
        } else {
            growing.whenGrown(offset + chunkSize, reader);
        }
    }

    /** The whole file's SHA-256 when a growing file is finished (the agents verify it from the last chunk). */
    public Optional<String> finalSha256() {
        return growing == null ? Optional.empty() : growing.sha256();
    }

    /** Why a growing file will never be finished, if so. */
    public Optional<String> failure() {
        return growing == null ? Optional.empty() : growing.failure();
    }

    /** The chunk that starts at {@code offset}: {@code min(chunkSize, size - offset)} bytes. */
    public synchronized ByteString chunk(long offset) throws IOException {
        Cached cached = cache.get(offset);
        ByteString data;
        if (cached != null) {
            data = cached.data();
            if (--cached.readersLeft()[0] == 0) {
                cache.remove(offset);
            }
        } else {
            data = read(offset);
            if (readers > 1 && cache.size() < MAX_CACHED) {
                cache.put(offset, new Cached(data, new int[] {readers - 1}));
            }
        }
        sent.add(data.size());
        return data;
    }

    /** The most bytes one chunk holds. */
    public int chunkSize() {
        return chunkSize;
    }

    /**
     * The chunk at {@code offset} into {@code dst} (at least {@link #chunkSize()} bytes of room), returning
     * its length: read from the file straight into it when this source feeds one stream, so that a direct
     * buffer gets the bytes with the kernel's one copy; shared with the other streams otherwise.
     */
    public int chunkInto(long offset, ByteBuffer dst) throws IOException {
        if (readers > 1) {
            ByteString data = chunk(offset);
            data.copyTo(dst);
            return data.size();
        }
        int n = length(offset);
        ByteBuffer into = dst.slice(dst.position(), n);
        while (into.hasRemaining()) {
            if (in.read(into, offset + into.position()) < 0) {
                throw new IOException("snapshot file shrank while being sent");
            }
        }
        dst.position(dst.position() + n);
        sent.add(n);
        return n;
    }

    /** Bytes handed out to streams so far. */
    public long bytesSent() {
        return sent.sum();
    }

    private int length(long offset) {
        long end = size() >= 0 ? size() : growing.written();
        return (int) Math.min(chunkSize, end - offset);
    }

    private ByteString read(long offset) throws IOException {
        int n = length(offset);
        byte[] bytes = new byte[n];
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        while (buffer.hasRemaining()) {
            if (in.read(buffer, offset + buffer.position()) < 0) {
                throw new IOException("snapshot file shrank while being sent");
            }
        }
        // The array is never written again: wrapping it saves the copy ByteString.copyFrom would make.
        return UnsafeByteOperations.unsafeWrap(bytes);
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
