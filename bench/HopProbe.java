import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentEndpoint;
import dev.etcdrescue.coordinator.agent.ChunkSource;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.TransferResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * The sender of bench/hop.sh: one upload of FILE to one agent with the coordinator's own code
 * (AgentChannels, AgentClient.upload over a ChunkSource, as SnapshotDistribution sends to each host),
 * run from source with the coordinator's jars on the class path.
 *
 *   TLS_DIR HOST PORT AGENT_PID FILE SHA256 CHUNK_BYTES TRANSFER_ID
 *
 * Claims the agent, announces the transfer (skip_snapshot_status: the file need not be a snapshot),
 * and measures from just before the first chunk to the agent's answer (verified, fsynced, renamed):
 * wall time, this JVM's CPU and the agent's CPU (utime + stime of /proc/PID/stat, both processes on this
 * machine). JVM start, TLS handshake and claim are outside the interval. Prints one JSON line:
 * {"seconds":..,"bytes":..,"sender_cpu_s":..,"receiver_cpu_s":..,"sha256":..}. Exit 1 when the upload fails.
 */
public final class HopProbe {
    private static final double TICKS_PER_SECOND = 100.0;

    public static void main(String[] args) throws Exception {
        Path tls = Path.of(args[0]);
        AgentEndpoint endpoint = new AgentEndpoint(args[1], args[1], Integer.parseInt(args[2]));
        long agentPid = Long.parseLong(args[3]);
        Path file = Path.of(args[4]);
        String sha = args[5];
        int chunk = Integer.parseInt(args[6]);
        String transferId = args[7];
        try (AgentClient agent = AgentChannels.fromDir(tls).connect(endpoint)) {
            String hostName = agent.status().getHostName();
            OperationHeader header = OperationHeader.newBuilder().setClusterName("bench-hop")
                    .setOperationId(transferId).setHostName(hostName).build();
            agent.claim(header, Duration.ofMinutes(10));
            long size = Files.size(file);
            try {
                agent.beginTransfer(BeginTransferRequest.newBuilder().setHeader(header).setTransferId(transferId)
                        .setTotalSize(size).setSha256(sha).setSource("file:" + file).setSkipSnapshotStatus(true).build());
                long senderCpu0 = cpuTicks(ProcessHandle.current().pid());
                long receiverCpu0 = cpuTicks(agentPid);
                long t0 = System.nanoTime();
                TransferResult result;
                try (ChunkSource source = new ChunkSource(file, chunk, 1)) {
                    result = agent.upload(header, transferId, source, 0, bytes -> { }, Duration.ofMinutes(30));
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                double senderCpu = (cpuTicks(ProcessHandle.current().pid()) - senderCpu0) / TICKS_PER_SECOND;
                double receiverCpu = (cpuTicks(agentPid) - receiverCpu0) / TICKS_PER_SECOND;
                if (!result.getSha256().equals(sha) || result.getSize() != size) {
                    System.err.println("hop: the agent reports " + result.getSize() + " bytes, sha256 " + result.getSha256());
                    System.exit(1);
                }
                System.out.printf(Locale.ROOT, "{\"seconds\":%.3f,\"bytes\":%d,\"sender_cpu_s\":%.2f,\"receiver_cpu_s\":%.2f,"
                        + "\"staged\":\"%s\"}%n", seconds, size, senderCpu, receiverCpu, result.getStagedPath());
            } finally {
                agent.releaseClaim(header);
            }
        }
    }

    /** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat, after the command's parentheses). */
    private static long cpuTicks(long pid) throws Exception {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }
}
