import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentEndpoint;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.TransferResult;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The coordinator's side of bench/memory.sh, run from source with the coordinator's jars on the
 * class path (java -cp 'coordinator/target/lib/*' bench/MemoryProbe.java ...). It uses the
 * coordinator's own AgentChannels and AgentClient.upload, so the agent sees what a recovery sends.
 *
 *   status TLS_DIR HOST PORT                                   one GetStatus
 *   upload TLS_DIR HOST PORT FILE SHA256 CHUNK_BYTES OPERATION  claim, BeginTransfer, UploadSnapshot, release
 *
 * Prints one line: "status ok", or "upload ok SECONDS" / "upload refused SECONDS: REASON" (a file of
 * random bytes is received, digested and fsynced in full, then refused as not a snapshot: expected).
 * Exit 1 when the agent cannot be reached or the upload breaks off before the end.
 */
public final class MemoryProbe {
    public static void main(String[] args) throws Exception {
        String command = args[0];
        AgentEndpoint endpoint = new AgentEndpoint(args[2], args[2], Integer.parseInt(args[3]));
        try (AgentClient agent = AgentChannels.fromDir(Path.of(args[1])).connect(endpoint)) {
            String hostName = agent.status().getHostName();
            if (command.equals("status")) {
                System.out.println("status ok");
                return;
            }
            Path file = Path.of(args[4]);
            long size = Files.size(file);
            OperationHeader header = OperationHeader.newBuilder().setClusterName("bench-memory")
                    .setOperationId(args[7]).setHostName(hostName).build();
            agent.claim(header, Duration.ofMinutes(10));
            String transferId = "bench-memory-" + args[7];
            agent.beginTransfer(BeginTransferRequest.newBuilder().setHeader(header).setTransferId(transferId)
                    .setTotalSize(size).setSha256(args[5]).setSource("file:" + file).build());
            long start = System.nanoTime();
            String outcome;
            try {
                TransferResult result = agent.upload(header, transferId, file, 0, Integer.parseInt(args[6]),
                        bytes -> { }, Duration.ofMinutes(30));
                outcome = "ok " + seconds(start) + " " + result.getSize();
            } catch (StatusRuntimeException refused) {
                if (refused.getStatus().getCode() != io.grpc.Status.Code.FAILED_PRECONDITION) {
                    System.out.println("upload failed " + seconds(start) + ": " + refused.getStatus());
                    System.exit(1);
                }
                outcome = "refused " + seconds(start) + ": " + refused.getStatus().getDescription();
            } finally {
                agent.releaseClaim(header);
            }
            System.out.println("upload " + outcome);
        }
    }

    private static String seconds(long startNanos) {
        return String.format("%.2f", (System.nanoTime() - startNanos) / 1e9);
    }
}
