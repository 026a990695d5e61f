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
import java.util.Map;
import java.util.TreeMap;

/**
 * The sender of bench/hop.sh: one upload of FILE to one agent with the coordinator's own code
 * (AgentChannels, AgentClient.upload over a ChunkSource, as SnapshotDistribution sends to each host),
 * run from source with the coordinator's jars on the class path.
 *
 *   TLS_DIR HOST PORT AGENT_PID FILE SHA256 CHUNK_BYTES TRANSFER_ID data|grpc
 *
 * data: the agent's data channel (decision 0023), as recover sends; grpc: UploadSnapshot, for comparison.
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
        boolean dataChannel = args[8].equals("data");
        try (AgentClient connected = AgentChannels.fromDir(tls).connect(endpoint)) {
            AgentClient agent = dataChannel ? connected : connected.withoutDataChannel();
            String hostName = agent.status().getHostName();
            OperationHeader header = OperationHeader.newBuilder().setClusterName("bench-hop")
                    .setOperationId(transferId).setHostName(hostName).build();
            agent.claim(header, Duration.ofMinutes(10));
            long size = Files.size(file);
            try {
                int dataPort = agent.beginTransfer(BeginTransferRequest.newBuilder().setHeader(header).setTransferId(transferId)
                        .setTotalSize(size).setSha256(sha).setSource("file:" + file).setSkipSnapshotStatus(true).build())
                        .getDataPort();
                if (dataChannel && dataPort == 0) {
                    System.err.println("hop: the agent offers no data channel");
                    System.exit(1);
                }
                Map<String, Long> senderThreads0 = threadTicks(ProcessHandle.current().pid());
                Map<String, Long> receiverThreads0 = threadTicks(agentPid);
                long senderUser0 = ticks(ProcessHandle.current().pid(), 11);
                long senderSys0 = ticks(ProcessHandle.current().pid(), 12);
                long receiverUser0 = ticks(agentPid, 11);
                long receiverSys0 = ticks(agentPid, 12);
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
                System.err.printf(Locale.ROOT, "user/system CPU-s: sender %.2f/%.2f, receiver %.2f/%.2f%n",
                        (ticks(ProcessHandle.current().pid(), 11) - senderUser0) / TICKS_PER_SECOND,
                        (ticks(ProcessHandle.current().pid(), 12) - senderSys0) / TICKS_PER_SECOND,
                        (ticks(agentPid, 11) - receiverUser0) / TICKS_PER_SECOND, (ticks(agentPid, 12) - receiverSys0) / TICKS_PER_SECOND);
                printThreads("sender", senderThreads0, threadTicks(ProcessHandle.current().pid()));
                printThreads("receiver", receiverThreads0, threadTicks(agentPid));
                if (!result.getSha256().equals(sha) || result.getSize() != size) {
                    System.err.println("hop: the agent reports " + result.getSize() + " bytes, sha256 " + result.getSha256());
                    System.exit(1);
                }
                System.out.printf(Locale.ROOT, "{\"transport\":\"%s\",\"seconds\":%.3f,\"bytes\":%d,\"sender_cpu_s\":%.2f,\"receiver_cpu_s\":%.2f,"
                        + "\"staged\":\"%s\"}%n", args[8], seconds, size, senderCpu, receiverCpu, result.getStagedPath());
            } finally {
                agent.releaseClaim(header);
            }
        }
    }

    /** utime + stime of every live thread of a process, by thread name (threads of one name added up). */
    private static Map<String, Long> threadTicks(long pid) throws Exception {
        Map<String, Long> byName = new TreeMap<>();
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    String stat = Files.readString(task.resolve("stat"));
                    String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replaceAll("[0-9]+$", "#");
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    byName.merge(name, Long.parseLong(fields[11]) + Long.parseLong(fields[12]), Long::sum);
                } catch (java.io.IOException gone) {
                    // The thread ended between the listing and the read.
                }
            }
        }
        return byName;
    }

    /** Where each process's CPU went during the transfer, on stderr (hop.sh keeps it in probe-N.log). */
    private static void printThreads(String who, Map<String, Long> before, Map<String, Long> after) {
        StringBuilder line = new StringBuilder(who + " CPU-s by thread:");
        after.entrySet().stream()
                .map(e -> Map.entry(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L)))
                .filter(e -> e.getValue() > 0)
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .forEach(e -> line.append(String.format(Locale.ROOT, " %s=%.2f", e.getKey(), e.getValue() / TICKS_PER_SECOND)));
        System.err.println(line);
    }

    /** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat). */
    private static long cpuTicks(long pid) throws Exception {
        return ticks(pid, 11) + ticks(pid, 12);
    }

    /** A field of /proc/PID/stat counted from the one after the command's parentheses (11: utime, 12: stime). */
    private static long ticks(long pid, int field) throws Exception {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[field]);
    }
}
