package dev.etcdrescue.agent.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChunkWireTest {
    @Test
    void theDataComesOutAsViewsAndEveryOtherFieldAsProtobufParsesIt() throws Exception {
        byte[] data = random(70_000, 1);
        SnapshotChunk chunk = SnapshotChunk.newBuilder()
                .setHeader(OperationHeader.newBuilder().setOperationId("op-1").setHostName("h1"))
                .setTransferId("live-op-1-abc").setOffset(1L << 33).setData(ByteString.copyFrom(data))
                .setLast(true).setFinalSha256("ab".repeat(32)).setFinalSize(123_456_789L).build();

        for (int piece : new int[] {1, 7, 16_384, 1 << 20}) {
            List<ByteBuffer> direct = spread(chunk.toByteArray(), piece);
            ChunkWire.Split split = ChunkWire.split(direct);

            assertThat(split.rest()).isEqualTo(chunk.toBuilder().clearData().build());
            assertThat(concat(split.data())).as("pieces of %d bytes", piece).isEqualTo(data);
            assertThat(split.data()).allSatisfy(b -> assertThat(b.isDirect()).isTrue());
            assertThat(direct).as("the caller's buffers are not moved").allSatisfy(b -> assertThat(b.position()).isZero());
        }
    }

    @Test
    void aChunkWithoutDataHasNoViewsAndUnknownFieldsSurvive() throws Exception {
        SnapshotChunk chunk = SnapshotChunk.newBuilder().setTransferId("t").setLast(true)
                .setUnknownFields(UnknownFieldSet.newBuilder()
                        .addField(99, UnknownFieldSet.Field.newBuilder().addFixed32(7).addFixed64(8).addVarint(1L << 60)
                                .addLengthDelimited(ByteString.copyFromUtf8("later field")).build())
                        .build())
                .build();

        ChunkWire.Split split = ChunkWire.split(spread(chunk.toByteArray(), 3));

        assertThat(split.data()).isEmpty();
        assertThat(split.rest()).isEqualTo(chunk);
    }

    @Test
    void theLastDataFieldWinsAsInProtobuf() throws Exception {
        ByteArrayOutputStream twice = new ByteArrayOutputStream();
        twice.writeBytes(SnapshotChunk.newBuilder().setData(ByteString.copyFromUtf8("first")).build().toByteArray());
        twice.writeBytes(SnapshotChunk.newBuilder().setData(ByteString.copyFromUtf8("second")).build().toByteArray());

        ChunkWire.Split split = ChunkWire.split(spread(twice.toByteArray(), 4));

        assertThat(new String(concat(split.data()))).isEqualTo("second");
        assertThat(SnapshotChunk.parseFrom(twice.toByteArray()).getData().toStringUtf8()).isEqualTo("second");
    }

    @Test
    void aTruncatedChunkOrAnOverlongVarintIsRefused() {
        byte[] whole = SnapshotChunk.newBuilder().setOffset(5).setData(ByteString.copyFrom(random(100, 2))).build().toByteArray();
        byte[] cut = Arrays.copyOf(whole, whole.length - 1);
        assertThatThrownBy(() -> ChunkWire.split(spread(cut, 10)))
                .isInstanceOf(InvalidProtocolBufferException.class).hasMessageContaining("ends inside a field");

        byte[] varint = new byte[12];
        varint[0] = 3 << 3;
        Arrays.fill(varint, 1, 12, (byte) 0xff);
        assertThatThrownBy(() -> ChunkWire.split(spread(varint, 5)))
                .isInstanceOf(InvalidProtocolBufferException.class).hasMessageContaining("varint");
    }

    @Test
    void aGroupWireTypeIsRefusedByName() {
        byte[] group = {(byte) ((9 << 3) | 3)};
        assertThatThrownBy(() -> ChunkWire.split(spread(group, 1)))
                .isInstanceOf(InvalidProtocolBufferException.class).hasMessageContaining("field 9 has wire type 3");
    }

    private static List<ByteBuffer> spread(byte[] bytes, int piece) {
        List<ByteBuffer> out = new ArrayList<>();
        for (int at = 0; at < bytes.length; at += piece) {
            int n = Math.min(piece, bytes.length - at);
            out.add(ByteBuffer.allocateDirect(n).put(bytes, at, n).flip());
        }
        return out;
    }

    private static byte[] concat(List<ByteBuffer> parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (ByteBuffer p : parts) {
            byte[] b = new byte[p.remaining()];
            p.duplicate().get(b);
            out.writeBytes(b);
        }
        return out.toByteArray();
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }
}
