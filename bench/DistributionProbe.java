import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentEndpoint;
import dev.etcdrescue.coordinator.agent.SnapshotDistribution;
import dev.etcdrescue.proto.v1.OperationHeader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The coordinator's distribute step alone, for bench/scaling.sh: run from source with the
 * coordinator's jars on the class path (java -cp 'coordinator/target/lib/*' bench/DistributionProbe.java ...).
 * It uses the coordinator's own AgentChannels and SnapshotDistribution (the code DistributePhase runs),
 * so the agents see what a recovery sends; only the other phases are left out.
 *
 *   TLS_DIR FILE direct|relay CHUNK_BYTES OPERATION NAME=HOST:PORT...
 *
 * Claims every agent under OPERATION, distributes FILE, releases the claims, and prints one JSON line:
 * {"mode":..,"agents":N,"size":..,"seconds":..,"egress_bytes":..,"egress_ratio":..,"relay_failure":..}.
 * Exit 1 when a host did not end with the verified file.
 */
public final class DistributionProbe {
    public static void main(String[] args) throws Exception {
        Path tls = Path.of(args[0]);
        Path file = Path.of(args[1]);
        SnapshotDistribution.Mode mode = SnapshotDistribution.Mode.parse(args[2]);
        int chunk = Integer.parseInt(args[3]);
        String operation = args[4];
        AgentChannels channels = AgentChannels.fromDir(tls);
        List<SnapshotDistribution.Target> targets = new ArrayList<>();
        List<AgentClient> clients = new ArrayList<>();
        for (int i = 5; i < args.length; i++) {
            String name = args[i].substring(0, args[i].indexOf('='));
            String address = args[i].substring(args[i].indexOf('=') + 1);
            String host = address.substring(0, address.lastIndexOf(':'));
            int port = Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
            AgentClient client = channels.connect(new AgentEndpoint(name, host, port));
            clients.add(client);
            OperationHeader header = OperationHeader.newBuilder().setClusterName("bench-scaling")
                    .setOperationId(operation).setHostName(name).build();
            client.claim(header, Duration.ofMinutes(10));
            targets.add(new SnapshotDistribution.Target(name, client, header));
        }
        long size = Files.size(file);
        String sha = sha256(file);
        SnapshotDistribution distribution = new SnapshotDistribution(channels, file, size, sha, "t-" + operation,
                "file:" + file, chunk, Duration.ofMinutes(10), targets.size(), (host, note) -> System.err.println("[" + host + "] " + note));
        long t0 = System.nanoTime();
        ExecutorService executor = Executors.newCachedThreadPool();
        SnapshotDistribution.Outcome outcome = distribution.run(targets, mode, executor);
        executor.shutdown();
        double seconds = (System.nanoTime() - t0) / 1e9;
        for (SnapshotDistribution.Target t : targets) {
            t.agent().releaseClaim(t.header());
        }
        clients.forEach(AgentClient::close);
        boolean ok = outcome.results().size() == targets.size()
                && outcome.results().values().stream().allMatch(r -> r.getSha256().equals(sha));
        System.out.printf(Locale.ROOT, "{\"mode\":\"%s\",\"agents\":%d,\"size\":%d,\"seconds\":%.3f,\"egress_bytes\":%d,"
                        + "\"egress_ratio\":%.3f,\"relay_failure\":%s,\"ok\":%b}%n",
                mode.name().toLowerCase(Locale.ROOT), targets.size(), size, seconds, outcome.egressBytes(),
                outcome.egressBytes() / (double) size,
                outcome.relayFailure().map(f -> "\"" + f.replace("\"", "'") + "\"").orElse("null"), ok);
        System.exit(ok ? 0 : 1);
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        byte[] buffer = new byte[1 << 20];
        try (var in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
