package dev.etcdrescue.agent.transfer;

import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import io.grpc.Detachable;
import io.grpc.ForwardingServerCallListener;
import io.grpc.HasByteBuffer;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Receives snapshot chunks without copying their data: a chunk's bytes stay in the transport's own
 * (direct) buffers, held until the handler's onMessage returns, and {@link #data} gives views of them.
 *
 * <p>Why: the default marshaller allocates a zeroed 1 MiB array per chunk and copies into it, and the
 * file write then copies it again into a temporary direct buffer. In a 32 MiB heap that is a young
 * collection every few chunks (docs/benchmarks.md). Protobuf cannot help: it copies any bytes field
 * that is not in a heap array, so ChunkWire takes the data field out before protobuf parses the rest.
 *
 * <p>The views are valid only during onMessage: UploadReceiver writes and digests them there, and
 * forwards a copy to a relay's next hop, whose call may hold a message after sendMessage returns.
 * The chunk a handler sees has no data of its own then: {@link #data} is the only way to its bytes.
 */
public final class ZeroCopyChunks implements MethodDescriptor.Marshaller<SnapshotChunk> {
    private static final Set<String> METHODS = Set.of(
            RescueAgentGrpc.getUploadSnapshotMethod().getFullMethodName(),
            RescueAgentGrpc.getRelaySnapshotMethod().getFullMethodName());

    private final MethodDescriptor.Marshaller<SnapshotChunk> copying;
    private record Held(InputStream owned, List<ByteBuffer> data) {}

    /** Each chunk parsed here, by identity, with the transport buffers its data lies in. */
    private final Map<SnapshotChunk, Held> held = Collections.synchronizedMap(new IdentityHashMap<>());

    public ZeroCopyChunks() {
        this.copying = RescueAgentGrpc.getUploadSnapshotMethod().getRequestMarshaller();
    }

    /** The service with UploadSnapshot and RelaySnapshot receiving through this marshaller. */
    public ServerServiceDefinition bind(ServerServiceDefinition service) {
        ServerServiceDefinition.Builder out = ServerServiceDefinition.builder(service.getServiceDescriptor().getName());
        for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
            if (METHODS.contains(method.getMethodDescriptor().getFullMethodName())) {
                out.addMethod(rebind(castChunkMethod(method)));
            } else {
                out.addMethod(method);
            }
        }
        return out.build();
    }

    @SuppressWarnings("unchecked")
    private static <R> ServerMethodDefinition<SnapshotChunk, R> castChunkMethod(ServerMethodDefinition<?, R> method) {
        return (ServerMethodDefinition<SnapshotChunk, R>) method;
    }

    private <R> ServerMethodDefinition<SnapshotChunk, R> rebind(ServerMethodDefinition<SnapshotChunk, R> method) {
        MethodDescriptor<SnapshotChunk, R> descriptor = method.getMethodDescriptor();
        ServerCallHandler<SnapshotChunk, R> handler = method.getServerCallHandler();
        ServerCallHandler<SnapshotChunk, R> releasing = (call, headers) ->
                new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(handler.startCall(call, headers)) {
                    @Override
                    public void onMessage(SnapshotChunk chunk) {
                        try {
                            super.onMessage(chunk);
                        } finally {
                            release(chunk);
                        }
                    }
                };
        return ServerMethodDefinition.create(
                descriptor.toBuilder(this, descriptor.getResponseMarshaller()).build(), releasing);
    }

    @Override
    public InputStream stream(SnapshotChunk chunk) {
        return copying.stream(chunk);
    }

    @Override
    public SnapshotChunk parse(InputStream stream) {
        if (!(stream instanceof Detachable detachable) || !(stream instanceof HasByteBuffer buffers)
                || !buffers.byteBufferSupported()) {
            return copying.parse(stream);
        }
        InputStream owned = detachable.detach();
        boolean keep = false;
        try {
            ChunkWire.Split split = ChunkWire.split(buffersOf(owned));
            if (!split.data().isEmpty()) {
                held.put(split.rest(), new Held(owned, split.data()));
                keep = true;
            }
            return split.rest();
        } catch (IOException e) {
            throw Status.INTERNAL.withDescription("malformed snapshot chunk: " + e.getMessage()).withCause(e)
                    .asRuntimeException();
        } finally {
            if (!keep) {
                closeQuietly(owned);
            }
        }
    }

    /**
     * The chunk's data: views of the transport's buffers for a chunk this marshaller parsed, valid
     * until its onMessage returns; the chunk's own data otherwise (tests, other transports).
     */
    public List<ByteBuffer> data(SnapshotChunk chunk) {
        Held h = held.get(chunk);
        if (h == null) {
            return chunk.getData().asReadOnlyByteBufferList();
        }
        List<ByteBuffer> views = new ArrayList<>(h.data().size());
        for (ByteBuffer b : h.data()) {
            views.add(b.asReadOnlyBuffer());
        }
        return views;
    }

    /**
     * A chunk whose data came another way (the data channel, decision 0023): {@link #data} gives views of
     * {@code data} until {@link #release}, which the caller owns and may reuse after that.
     */
    public void hold(SnapshotChunk chunk, List<ByteBuffer> data) {
        held.put(chunk, new Held(null, data));
    }

    /** Lets go of a chunk's transport buffers; a chunk parsed by copying holds none. */
    public void release(SnapshotChunk chunk) {
        Held h = held.remove(chunk);
        if (h != null && h.owned() != null) {
            closeQuietly(h.owned());
        }
    }

    /** Chunks whose buffers are still held: none once every onMessage has returned. */
    int heldCount() {
        return held.size();
    }

    /** The stream's buffers, marked first so that reading on keeps them until the stream is closed. */
    private static List<ByteBuffer> buffersOf(InputStream owned) throws IOException {
        owned.mark(Integer.MAX_VALUE);
        HasByteBuffer buffers = (HasByteBuffer) owned;
        List<ByteBuffer> parts = new ArrayList<>();
        while (owned.available() > 0) {
            ByteBuffer part = buffers.getByteBuffer();
            if (part == null || !part.hasRemaining()) {
                throw new IOException("the transport returned no buffer with " + owned.available() + " bytes left");
            }
            parts.add(part.duplicate());
            long skipped = owned.skip(part.remaining());
            if (skipped != part.remaining()) {
                throw new IOException("skipped " + skipped + " of a " + part.remaining() + "-byte buffer");
            }
        }
        return parts;
    }

    private static void closeQuietly(InputStream stream) {
        try {
            stream.close();
        } catch (IOException ignored) {
            // The transport's buffers are released by close; it has nothing else to report.
        }
    }
}
