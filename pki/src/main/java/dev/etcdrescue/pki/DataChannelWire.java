package dev.etcdrescue.pki;

import java.io.IOException;
import java.net.ProtocolException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;

/**
 * The framing of the snapshot data channel (decision 0023), inside a {@link TlsStream}. The sender opens
 * with {@link #MAGIC}, then sends chunks: a 4-byte length and an encoded {@code SnapshotChunk} without
 * its data (header, transfer id, offset, last, final size and digest: what UploadSnapshot's messages
 * carry), then a 4-byte length and the data itself. The agent answers once, at the end or as soon as it
 * refuses: one byte {@link #REPLY_RESULT} and an encoded {@code TransferResult}, or {@link #REPLY_STATUS},
 * an encoded {@code google.rpc.Status} and the relay hop that failed (empty when none), each with a
 * 4-byte length. Between the last chunk and that answer the agent checks what it received (SHA-256, fsync,
 * the restore tool's status of the file, its next hop's answer), which can outlast the sender's idle limit
 * on a busy or slow disk: it sends one byte {@link #REPLY_WORKING} every {@link #WORKING_EVERY_SECONDS}
 * meanwhile, so that silence still means a peer gone. Integers are big-endian.
 */
public final class DataChannelWire {
    /** "ERD1": a client of another protocol (an HTTP/2 preface) is refused at its first bytes. */
    public static final int MAGIC = 0x45524431;
    public static final int MAX_META_BYTES = 64 << 10;
    /** The most data one chunk may carry: bounds the agent's buffer per connection. */
    public static final int MAX_DATA_BYTES = 4 << 20;
    /** A receiver takes a chunk's data in pieces this large, each while it is in the CPU's cache. */
    public static final int PIECE_BYTES = 128 << 10;
    /** The largest single read a receiver needs: a piece, or a chunk's fields. */
    public static final int MAX_READ_BYTES = Math.max(PIECE_BYTES, MAX_META_BYTES);
    public static final byte REPLY_RESULT = 0;
    public static final byte REPLY_STATUS = 1;
    /** Not an answer yet: the receiver is still checking the file after the last chunk. */
    public static final byte REPLY_WORKING = 2;
    /** How often a receiver still checking says so: well under the 60 s idle limit of both ends. */
    public static final int WORKING_EVERY_SECONDS = 10;

    private DataChannelWire() {}

    /** One chunk: its encoded fields without data, then the data, given in one or more buffers. */
    public static void writeChunk(TlsStream stream, byte[] meta, ByteBuffer... data) throws IOException {
        long length = 0;
        for (ByteBuffer part : data) {
            length += part.remaining();
        }
        if (length > MAX_DATA_BYTES) {
            throw new ProtocolException("chunk data of " + length + " bytes: at most " + MAX_DATA_BYTES);
        }
        ByteBuffer[] all = new ByteBuffer[3 + data.length];
        all[0] = ByteBuffer.allocate(4).putInt(meta.length).flip();
        all[1] = ByteBuffer.wrap(meta);
        all[2] = ByteBuffer.allocate(4).putInt((int) length).flip();
        System.arraycopy(data, 0, all, 3, data.length);
        stream.write(all);
    }

    public static void writeMagic(TlsStream stream) throws IOException {
        stream.write(ByteBuffer.allocate(4).putInt(MAGIC).flip());
    }

    public static void readMagic(TlsStream stream) throws IOException {
        int magic = stream.read(4).getInt();
        if (magic != MAGIC) {
            throw new ProtocolException(String.format("not the etcd-rescue data channel (first bytes %08x)", magic));
        }
    }

    /** A length-prefixed block of at most {@code max} bytes, as a view valid until the stream's next read. */
    public static ByteBuffer readBlock(TlsStream stream, int max, String what) throws IOException {
        int length = stream.read(4).getInt();
        if (length < 0 || length > max) {
            throw new ProtocolException(what + " of " + length + " bytes: at most " + max);
        }
        return stream.read(length);
    }

    /** A length-prefixed block, copied out. */
    public static byte[] readBytes(TlsStream stream, int max, String what) throws IOException {
        ByteBuffer view = readBlock(stream, max, what);
        byte[] bytes = new byte[view.remaining()];
        view.get(bytes);
        return bytes;
    }

    /** Tells the sender the answer is still being worked out (see {@link #REPLY_WORKING}). */
    public static void writeWorking(TlsStream stream) throws IOException {
        stream.write(ByteBuffer.wrap(new byte[] {REPLY_WORKING}));
    }

    /**
     * The kind of the answer, after any {@link #REPLY_WORKING} bytes; past {@code deadlineNanos} (a
     * {@link System#nanoTime} value) a receiver still working is given up on.
     */
    public static byte readReplyKind(TlsStream stream, long deadlineNanos) throws IOException {
        while (true) {
            byte kind = stream.read(1).get();
            if (kind != REPLY_WORKING) {
                return kind;
            }
            if (System.nanoTime() - deadlineNanos > 0) {
                throw new SocketTimeoutException("the receiver was still checking the file at the transfer's deadline");
            }
        }
    }

    public static void writeReply(TlsStream stream, byte kind, byte[]... blocks) throws IOException {
        ByteBuffer[] parts = new ByteBuffer[1 + 2 * blocks.length];
        parts[0] = ByteBuffer.wrap(new byte[] {kind});
        for (int i = 0; i < blocks.length; i++) {
            parts[1 + 2 * i] = ByteBuffer.allocate(4).putInt(blocks[i].length).flip();
            parts[2 + 2 * i] = ByteBuffer.wrap(blocks[i]);
        }
        stream.write(parts);
    }
}
