package dev.etcdrescue.agent.transfer;

import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.function.Consumer;

/** A file sent as SnapshotChunk messages with gRPC's flow control, for services outside this package (backups). */
public final class FileStreams {
    private FileStreams() {}

    /**
     * Attaches to the call (while its service method runs) and starts sending {@code file}; {@code finished}
     * is called once, with null when the last chunk went out, else with the failure or cancellation.
     */
    public static void send(StreamObserver<SnapshotChunk> out, Path file, Consumer<Throwable> finished) {
        ChunkedFileSender sender = ChunkedFileSender.attach(out, OperationHeader.getDefaultInstance(), ChunkedFileSender.DEFAULT_CHUNK,
                finished);
        sender.send(file);
    }
}
