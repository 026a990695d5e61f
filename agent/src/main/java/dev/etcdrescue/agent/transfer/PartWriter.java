package dev.etcdrescue.agent.transfer;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Appends a transfer's received bytes to its {@code .part} with direct I/O (O_DIRECT): the disk reads
 * them from this writer's aligned buffer, and the kernel neither copies them into the page cache nor
 * writes dirty pages back at the fsync. Measured on the hop bench (decision 0023): the page-cache copy
 * was the receiver's largest single cost, about 1 CPU-second per GB here. Each chunk goes out once it is
 * all written, but for its partial last block, which waits in the buffer for the next chunk, or for the
 * end (also when the stream breaks), where it goes through the page cache. A file system that refuses O_DIRECT
 * (tmpfs before Linux 6.6) gets ordinary writes.
 */
final class PartWriter implements AutoCloseable {
    /** The aligned buffer: bytes are copied in, and written out in whole blocks when it is full. */
    static final int BUFFER_BYTES = 1 << 20;

    private final FileChannel buffered;
    /** Null when the file system refuses O_DIRECT. */
    private final FileChannel direct;
    private final int block;
    private final ByteBuffer staging;
    /** File offset of staging[0], a multiple of the block size. */
    private long stagingStart;
    private boolean closed;

    private PartWriter(FileChannel buffered, FileChannel direct, int block) {
        this.buffered = buffered;
        this.direct = direct;
        this.block = block;
        this.staging = direct == null ? null : ByteBuffer.allocateDirect(BUFFER_BYTES + block).alignedSlice(block);
    }

    /** Opens (or creates) {@code part} to append after what it holds. */
    static PartWriter open(Path part) throws IOException {
        return open(part, true);
    }

    /** {@code tryDirect} false: ordinary writes, as on a file system that refuses O_DIRECT. */
    static PartWriter open(Path part, boolean tryDirect) throws IOException {
        FileChannel buffered = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
        FileChannel direct = null;
        int block = 0;
        try {
            if (tryDirect) {
                block = Math.toIntExact(Files.getFileStore(part).getBlockSize());
                direct = FileChannel.open(part, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT);
            }
        } catch (IOException | UnsupportedOperationException | ArithmeticException refused) {
            direct = null;
        }
        PartWriter writer = new PartWriter(buffered, direct, block);
        writer.resumeAt(buffered.size());
        return writer;
    }

    /** Whether writes bypass the page cache. */
    boolean direct() {
        return direct != null;
    }

    private void resumeAt(long existing) throws IOException {
        if (direct == null) {
            buffered.position(existing);
            return;
        }
        stagingStart = existing - existing % block;
        // The partial block already on disk goes out again as part of its whole block.
        staging.limit((int) (existing - stagingStart));
        while (staging.hasRemaining()) {
            if (buffered.read(staging, stagingStart + staging.position()) < 0) {
                throw new IOException("the partial file shrank while being reopened");
            }
        }
        staging.limit(staging.capacity());
    }

    /** Appends {@code data} (one part of a chunk); {@link #endOfChunk} writes it out. */
    void write(ByteBuffer data) throws IOException {
        if (direct == null) {
            while (data.hasRemaining()) {
                buffered.write(data);
            }
            return;
        }
        while (data.hasRemaining()) {
            int n = Math.min(data.remaining(), staging.remaining());
            staging.put(staging.position(), data, data.position(), n);
            staging.position(staging.position() + n);
            data.position(data.position() + n);
            if (!staging.hasRemaining()) {
                writeWholeBlocks();
            }
        }
    }

    /**
     * After a chunk's parts: its whole blocks go to the file now, as with ordinary writes, so a crash of
     * the agent loses at most the partial last block, which a resume sends again. Once per chunk, not per
     * part: over gRPC a chunk arrives in many small buffers, and each direct write is a disk request.
     */
    void endOfChunk() throws IOException {
        if (direct != null) {
            writeWholeBlocks();
        }
    }

    /**
     * Writes what whole blocks the buffer holds and fsyncs: all but the last partial block is on stable
     * storage. A partial last block stays in the buffer.
     */
    void sync() throws IOException {
        if (direct != null) {
            writeWholeBlocks();
        }
        buffered.force(false);
    }

    /** Writes everything, the partial last block included, fsyncs (with metadata) and closes; once. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (direct != null) {
                writeWholeBlocks();
                staging.flip();
                while (staging.hasRemaining()) {
                    buffered.write(staging, stagingStart + staging.position());
                }
            }
            buffered.force(true);
        } finally {
            buffered.close();
            if (direct != null) {
                direct.close();
            }
        }
    }

    private void writeWholeBlocks() throws IOException {
        int held = staging.position();
        int whole = held - held % block;
        if (whole == 0) {
            return;
        }
        ByteBuffer out = staging.duplicate().position(0).limit(whole);
        while (out.hasRemaining()) {
            direct.write(out, stagingStart + out.position());
        }
        staging.position(whole).limit(held);
        staging.compact();
        stagingStart += whole;
    }
}
