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
import java.util.concurrent.atomic.LongAdder;

/**
 * The snapshot file cut into chunks for several upload streams at once: each chunk is read once and
 * the same bytes (one ByteString, never copied) go to every stream that asks for that offset. Streams
 * run at different speeds, so a chunk stays cached until every stream has taken it, but never more
 * than {@link #MAX_CACHED} chunks: past that, a slow stream reads its chunk again (from the page cache).
 * Counts the chunk bytes handed out, which is what the coordinator sends to agents.
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

    /** @param readers how many streams will read every chunk (1 for a single upload or a relay) */
    public ChunkSource(Path file, int chunkSize, int readers) throws IOException {
        this.in = FileChannel.open(file, StandardOpenOption.READ);
        this.size = in.size();
        this.chunkSize = chunkSize;
        this.readers = readers;
    }

    public long size() {
        return size;
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

    /** Bytes handed out to streams so far. */
    public long bytesSent() {
        return sent.sum();
    }

    private ByteString read(long offset) throws IOException {
        int n = (int) Math.min(chunkSize, size - offset);
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
