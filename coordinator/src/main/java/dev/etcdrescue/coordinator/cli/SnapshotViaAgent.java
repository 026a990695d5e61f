package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.engine.Recovery;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.Inventory;
import dev.etcdrescue.coordinator.inventory.InventoryLoader;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.inventory.SnapshotSource;
import dev.etcdrescue.coordinator.snapshot.AgentSnapshotDownload;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.proto.v1.LocalEtcdAccess;
import dev.etcdrescue.proto.v1.OperationHeader;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.LongConsumer;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * {@code snapshot save --via-agent HOST}: the inventory says how to reach the host's agent (tls_dir,
 * agent address) and its etcd (the old member's client URL in snapshot_endpoints, the etcd_*_file
 * paths on that host, etcd_user with its password from a file or the environment); the agent takes
 * the snapshot on its host and streams it here.
 */
final class SnapshotViaAgent {
    /** What the operator gave beside the inventory; null fields take the inventory's values. */
    record Request(Path inventory, String host, String endpoint, String caFile, String certFile, String keyFile) {}

    /** The resolved target: the agent, and what it is asked to snapshot. */
    record Target(ClusterPlan cluster, MemberPlan member, LocalEtcdAccess access) {}

    private SnapshotViaAgent() {}

    static Target resolve(Request request) {
        Inventory inventory = InventoryLoader.load(request.inventory());
        List<String> known = new ArrayList<>();
        for (ClusterPlan cluster : inventory.clusters()) {
            for (MemberPlan member : cluster.members()) {
                known.add(member.hostName());
                if (member.hostName().equals(request.host())) {
                    return new Target(cluster, member, access(request, cluster, member));
                }
            }
        }
        throw usage("--via-agent " + request.host() + ": no such host in " + request.inventory() + " (hosts: "
                + String.join(", ", known) + ")");
    }

    private static LocalEtcdAccess access(Request request, ClusterPlan cluster, MemberPlan member) {
        String endpoint = Optional.ofNullable(request.endpoint()).orElseGet(() -> inventoryEndpoint(cluster, member)
                .orElseThrow(() -> usage("--via-agent " + member.hostName() + ": snapshot_endpoints of cluster " + cluster.name()
                        + " names no client URL on " + member.address() + "; give --endpoint, the member's client URL as seen"
                        + " on its host (e.g. http://127.0.0.1:2379)")));
        URI url = parse(endpoint);
        LocalEtcdAccess.Builder access = LocalEtcdAccess.newBuilder().setEndpoint(url.toString());
        if (url.getScheme().equals("https")) {
            String ca = pick(request.caFile(), member.tls() == null ? null : member.tls().caFile());
            String cert = pick(request.certFile(), member.tls() == null ? null : member.tls().certFile());
            String key = pick(request.keyFile(), member.tls() == null ? null : member.tls().keyFile());
            if (ca == null) {
                throw usage("--endpoint " + endpoint + " is https: give --etcd-ca-file (a path on " + member.hostName()
                        + "), or etcd_ca_file for the host in the inventory");
            }
            if ((cert == null) != (key == null)) {
                throw usage("--etcd-cert-file and --etcd-key-file go together (paths on " + member.hostName() + ")");
            }
            access.setCaFile(ca);
            if (cert != null) {
                access.setCertFile(cert).setKeyFile(key);
            }
        } else if (request.caFile() != null || request.certFile() != null || request.keyFile() != null) {
            throw usage("--endpoint " + endpoint + " is http: --etcd-ca-file, --etcd-cert-file and --etcd-key-file are for https");
        }
        cluster.etcdAccess().userName().ifPresent(user -> {
            try {
                access.setUsername(user).setPassword(cluster.etcdAccess().password(System.getenv()));
            } catch (IllegalStateException e) {
                throw usage(e.getMessage());
            }
        });
        return access.build();
    }

    /** The old member's URL on this host: the snapshot_endpoints entry whose host is the member's address. */
    private static Optional<String> inventoryEndpoint(ClusterPlan cluster, MemberPlan member) {
        if (!(cluster.snapshot() instanceof SnapshotSource.Endpoints endpoints)) {
            return Optional.empty();
        }
        return endpoints.endpoints().stream()
                .filter(u -> u.getHost() != null && (u.getHost().equals(member.address()) || u.getHost().equals(member.agentHost())))
                .map(URI::toString).findFirst();
    }

    private static URI parse(String endpoint) {
        URI url;
        try {
            url = new URI(endpoint.strip());
        } catch (java.net.URISyntaxException e) {
            throw usage("--endpoint '" + endpoint + "' is not http(s)://ADDRESS:PORT (" + e.getReason() + ")");
        }
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("http") || scheme.equals("https")) || url.getHost() == null || url.getPort() < 1
                || !(url.getPath() == null || url.getPath().isEmpty())) {
            throw usage("--endpoint '" + endpoint + "' is not http(s)://ADDRESS:PORT");
        }
        return url;
    }

    private static String pick(String given, String fromInventory) {
        return given != null ? given : fromInventory;
    }

    /** Claims the agent, has it take the snapshot, streams it into {@code file}. */
    static SnapshotFile save(Target target, Path file, Duration timeout, boolean terminal) throws IOException {
        MemberPlan member = target.member();
        String agent = member.hostName() + " (" + member.agentEndpoint() + ")";
        OperationHeader header = OperationHeader.newBuilder().setClusterName(target.cluster().name())
                .setOperationId("snapshot-" + Recovery.newOperationId()).setHostName(member.hostName()).build();
        try (AgentClient client = AgentChannels.fromDir(target.cluster().tlsDir()).connect(member.agentEndpoint());
             Progress progress = new Progress(member.hostName(), terminal, System.err)) {
            return new AgentSnapshotDownload(client, agent).save(header, target.access(), file, timeout, progress);
        }
    }

    /** A bar on a terminal, as the other transfers show; nothing otherwise (the summary follows). */
    private static final class Progress implements LongConsumer, AutoCloseable {
        private final ProgressBar bar;

        Progress(String host, boolean terminal, PrintStream err) {
            // The size is known only with the last chunk: the bar counts up without a total.
            bar = terminal ? new ProgressBarBuilder().setTaskName(host).setInitialMax(-1).setUnit("MiB", 1 << 20)
                    .setStyle(ProgressBarStyle.ASCII).setConsumer(new ConsoleProgressBarConsumer(err)).continuousUpdate()
                    .build() : null;
        }

        @Override
        public void accept(long bytes) {
            if (bar != null) {
                bar.stepTo(bytes);
            }
        }

        @Override
        public void close() {
            if (bar != null) {
                bar.close();
            }
        }
    }

    private static UserException usage(String message) {
        return new UserException(FailureKind.BAD_INPUT, message);
    }
}
