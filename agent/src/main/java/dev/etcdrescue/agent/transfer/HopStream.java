package dev.etcdrescue.agent.transfer;

import com.google.protobuf.UnsafeByteOperations;
import dev.etcdrescue.agent.rpc.StatusMapper;
import dev.etcdrescue.proto.v1.HopOutcome;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.RelayGrant;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import io.grpc.Deadline;
import io.grpc.Status;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * One stream of {@link SnapshotSender} ({@link NextHop}: the hop's data channel, or RelaySnapshot): the staged file from the hop's durable offset, in
 * chunks, sent only as fast as the hop takes them (up to {@link RelayTee#CHUNKS_AHEAD} beyond gRPC's
 * readiness), the first carrying the header and this agent's grant, the last the size and digest.
 */
final class HopStream {
    static final int CHUNK = 1 << 20;

    private final String hop;
    private final RelayDialer dialer;
    private final Path file;
    private final long size;
    private final String sha256;
    private final long from;
    /** The hop's data channel port as the coordinator named it; 0: RelaySnapshot. */
    private final int dataPort;
    private final OperationHeader header;
    private final RelayGrant grant;
    private final Deadline deadline;
    private final BooleanSupplier cancelled;
    private final Object ready = new Object();
    private long sent;

    HopStream(String hop, RelayDialer dialer, Path file, long size, String sha256, long from, int dataPort, OperationHeader header,
              RelayGrant grant, Deadline deadline, BooleanSupplier cancelled) {
        this.dataPort = dataPort;
        this.hop = hop;
        this.dialer = dialer;
        this.file = file;
        this.size = size;
        this.sha256 = sha256;
        this.from = from;
        this.header = header;
        this.grant = grant;
        this.deadline = deadline;
        this.cancelled = cancelled;
    }

    HopOutcome run() {
        NextHop forwarder;
        try {
            forwarder = NextHop.open(hop, dialer, dataPort, deadline, this::wake);
        } catch (IOException | RuntimeException e) {
            return failed(hop, Status.UNAVAILABLE.withDescription("cannot dial " + hop + ": " + e.getMessage()).asRuntimeException());
        }
        try {
            pump(forwarder);
            TransferResult result = forwarder.result().get(Math.max(1, deadline.timeRemaining(TimeUnit.MILLISECONDS)),
                    TimeUnit.MILLISECONDS);
            return HopOutcome.newBuilder().setEndpoint(hop).setOk(true).setResult(result).setBytesSent(sent)
                    .setTransport(forwarder.transport()).build();
        } catch (ExecutionException e) {
            return failed(forwarder.failedHop(e.getCause()), e.getCause()).toBuilder().setTransport(forwarder.transport()).build();
        } catch (TimeoutException e) {
            forwarder.cancel("the deadline passed");
            return failed(hop, Status.DEADLINE_EXCEEDED.withDescription("no answer from " + hop + " before the deadline")
                    .asRuntimeException());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            forwarder.cancel("the sending agent stopped");
            return failed(hop, Status.CANCELLED.withDescription("the sending agent stopped").asRuntimeException());
        } catch (IOException | RuntimeException e) {
            forwarder.cancel("the sending agent failed: " + e.getMessage());
            return failed(hop, Status.INTERNAL.withDescription("reading " + file + ": " + e.getMessage()).asRuntimeException());
        }
    }

    private void wake() {
        synchronized (ready) {
            ready.notifyAll();
        }
    }

    private void pump(NextHop forwarder) throws IOException, InterruptedException {
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            long offset = from;
            int ahead = 0;
            boolean first = true;
            while (forwarder.alive()) {
                if (cancelled.getAsBoolean()) {
                    // The hop keeps its .part: a resumed run continues from its durable offset.
                    forwarder.cancel("the coordinator cancelled SendSnapshot");
                    return;
                }
                synchronized (ready) {
                    if (forwarder.ready()) {
                        ahead = 0;
                    } else if (ahead >= RelayTee.CHUNKS_AHEAD) {
                        ready.wait(200);
                        continue;
                    }
                }
                int n = (int) Math.min(CHUNK, size - offset);
                ByteBuffer data = ByteBuffer.allocate(n);
                while (data.hasRemaining()) {
                    if (in.read(data, offset + data.position()) < 0) {
                        throw new IOException(file + " ended at " + (offset + data.position()) + " of " + size + " bytes");
                    }
                }
                data.flip();
                boolean last = offset + n == size;
                SnapshotChunk.Builder chunk = SnapshotChunk.newBuilder().setTransferId(grant.getTransferId()).setOffset(offset)
                        .setData(UnsafeByteOperations.unsafeWrap(data)).setLast(last);
                if (first) {
                    // The receiving agent fills in its own host name; the grant, signed for its address, says it is meant there.
                    chunk.setHeader(header.toBuilder().clearHostName()).setRelay(grant);
                    first = false;
                }
                if (last) {
                    chunk.setFinalSize(size).setFinalSha256(sha256);
                }
                forwarder.send(chunk.build());
                ahead++;
                offset += n;
                sent = offset - from;
                if (last) {
                    forwarder.finish();
                    return;
                }
            }
        }
    }

    private HopOutcome failed(String failedHop, Throwable failure) {
        Status status = Status.fromThrowable(failure);
        return HopOutcome.newBuilder().setEndpoint(hop).setOk(false).setFailedHop(failedHop).setCode(status.getCode().name())
                .setReason(StatusMapper.reasonOf(failure))
                .setMessage(status.getDescription() == null ? status.getCode().name() : status.getDescription())
                .setBytesSent(sent).build();
    }
}
