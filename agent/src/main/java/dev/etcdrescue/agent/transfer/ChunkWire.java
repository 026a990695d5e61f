package dev.etcdrescue.agent.transfer;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits an encoded SnapshotChunk, spread over the transport's buffers, into its {@code data} field,
 * kept as views of those buffers, and every other field, copied out (a few bytes) and parsed by
 * protobuf. Protobuf itself copies any bytes field that lies outside a heap array.
 */
final class ChunkWire {
    private static final int DATA_FIELD = SnapshotChunk.DATA_FIELD_NUMBER;

    /** The chunk without its data, and the data as views (empty when the chunk has none). */
    record Split(SnapshotChunk rest, List<ByteBuffer> data) {}

    private final List<ByteBuffer> buffers;
    private int index;

    private ChunkWire(List<ByteBuffer> buffers) {
        this.buffers = buffers;
    }

    /** Reads the buffers from their positions; the views share their memory, so stay valid only as long. */
    static Split split(List<ByteBuffer> buffers) throws InvalidProtocolBufferException {
        List<ByteBuffer> own = new ArrayList<>(buffers.size());
        for (ByteBuffer b : buffers) {
            own.add(b.duplicate());
        }
        return new ChunkWire(own).split();
    }

    private Split split() throws InvalidProtocolBufferException {
        ByteArrayOutputStream rest = new ByteArrayOutputStream(64);
        List<ByteBuffer> data = List.of();
        while (hasRemaining()) {
            long tag = readVarint(null);
            int field = (int) (tag >>> 3);
            int wireType = (int) (tag & 7);
            if (field == DATA_FIELD && wireType == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                data = take(length(readVarint(null)));
                continue;
            }
            writeVarint(rest, tag);
            switch (wireType) {
                case WireFormat.WIRETYPE_VARINT -> readVarint(rest);
                case WireFormat.WIRETYPE_FIXED64 -> copy(rest, 8);
                case WireFormat.WIRETYPE_FIXED32 -> copy(rest, 4);
                case WireFormat.WIRETYPE_LENGTH_DELIMITED -> copy(rest, length(readVarint(rest)));
                default -> throw new InvalidProtocolBufferException("snapshot chunk field " + field + " has wire type "
                        + wireType + ", which no field of SnapshotChunk uses");
            }
        }
        return new Split(SnapshotChunk.parseFrom(rest.toByteArray()), data);
    }

    private boolean hasRemaining() {
        while (index < buffers.size() && !buffers.get(index).hasRemaining()) {
            index++;
        }
        return index < buffers.size();
    }

    private byte readByte() throws InvalidProtocolBufferException {
        if (!hasRemaining()) {
            throw new InvalidProtocolBufferException("snapshot chunk ends inside a field");
        }
        return buffers.get(index).get();
    }

    /** A varint, its bytes also copied to {@code copyTo} when given. */
    private long readVarint(ByteArrayOutputStream copyTo) throws InvalidProtocolBufferException {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte b = readByte();
            if (copyTo != null) {
                copyTo.write(b);
            }
            value |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return value;
            }
        }
        throw new InvalidProtocolBufferException("snapshot chunk has a varint longer than 10 bytes");
    }

    private static int length(long length) throws InvalidProtocolBufferException {
        if (length < 0 || length > Integer.MAX_VALUE) {
            throw new InvalidProtocolBufferException("snapshot chunk has a field of length " + length);
        }
        return (int) length;
    }

    private void copy(ByteArrayOutputStream to, int length) throws InvalidProtocolBufferException {
        for (ByteBuffer part : take(length)) {
            byte[] bytes = new byte[part.remaining()];
            part.get(bytes);
            to.writeBytes(bytes);
        }
    }

    /** The next {@code length} bytes as views, one per buffer they span. */
    private List<ByteBuffer> take(int length) throws InvalidProtocolBufferException {
        List<ByteBuffer> parts = new ArrayList<>();
        int left = length;
        while (left > 0) {
            if (!hasRemaining()) {
                throw new InvalidProtocolBufferException("snapshot chunk ends inside a field");
            }
            ByteBuffer current = buffers.get(index);
            int n = Math.min(left, current.remaining());
            parts.add(current.slice(current.position(), n));
            current.position(current.position() + n);
            left -= n;
        }
        return parts;
    }

    private static void writeVarint(ByteArrayOutputStream to, long value) {
        long v = value;
        while ((v & ~0x7fL) != 0) {
            to.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        to.write((int) v);
    }
}
