package dev.etcdrescue.coordinator.backup;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.proto.v1.BackupEntry;
import dev.etcdrescue.proto.v1.BackupList;
import dev.etcdrescue.proto.v1.DrillResult;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * Asks every host's agent of the given clusters what backups it holds (ListBackups over mTLS), all at once,
 * and sums them up per cluster: the newest trusted backup and its age (the recovery point objective met now).
 * A host that cannot be asked is a row with the reason, never an exception.
 */
public final class FleetBackups {
    private final Function<Path, AgentChannels> channelsOf;
    private final Duration timeout;

    public FleetBackups(Function<Path, AgentChannels> channelsOf, Duration timeout) {
        this.channelsOf = channelsOf;
        this.timeout = timeout;
    }

    /** One host's answer: its backups, or why there is none. */
    public record HostBackups(String cluster, String host, String endpoint, boolean configured, String lastResult, String error,
                              List<BackupEntry> backups) {}

    /**
     * One cluster's state: its newest trusted backup (empty when none), where it is, and how old.
     *
     * @param hostsAsked hosts of the cluster in the inventory; {@code hostsConfigured} of them have backups configured
     */
    public record ClusterBackups(String cluster, int hostsAsked, int hostsConfigured, int trusted, int untrusted,
                                 Optional<BackupEntry> newest, Optional<Duration> age, Optional<DrillResult> lastDrill) {}

    public List<HostBackups> ask(List<ClusterPlan> clusters, boolean readBack) throws InterruptedException {
        return ask(clusters, agent -> agent.listBackups(readBack, timeout));
    }

    /** Every host reads its copies back, with the snapshot inside each (all of them, or those of backup {@code id}). */
    public List<HostBackups> verify(List<ClusterPlan> clusters, String id) throws InterruptedException {
        return ask(clusters, agent -> agent.verifyBackups(id, timeout));
    }

    private List<HostBackups> ask(List<ClusterPlan> clusters, Function<AgentClient, BackupList> how) throws InterruptedException {
        Map<Path, AgentChannels> channels = new HashMap<>();
        clusters.forEach(plan -> channels.computeIfAbsent(plan.tlsDir(), channelsOf));
        int hosts = clusters.stream().mapToInt(c -> c.members().size()).sum();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(hosts, 16)), r -> {
            Thread t = new Thread(r, "backups");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<HostBackups>> asked = new ArrayList<>();
            List<MemberPlan> who = new ArrayList<>();
            List<String> clusterOf = new ArrayList<>();
            for (ClusterPlan plan : clusters) {
                for (MemberPlan m : plan.members()) {
                    asked.add(pool.submit(() -> ask(channels.get(plan.tlsDir()), plan.name(), m, how)));
                    who.add(m);
                    clusterOf.add(plan.name());
                }
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            List<HostBackups> rows = new ArrayList<>();
            for (int i = 0; i < asked.size(); i++) {
                MemberPlan m = who.get(i);
                try {
                    rows.add(asked.get(i).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
                } catch (TimeoutException e) {
                    asked.get(i).cancel(true);
                    rows.add(failed(clusterOf.get(i), m, "no answer within " + timeout.toSeconds() + "s"));
                } catch (ExecutionException e) {
                    rows.add(failed(clusterOf.get(i), m, AgentError.describe(e.getCause(), m.agentEndpoint().toString())));
                }
            }
            return BackupCandidates.objectCopiesOnce(rows);
        } finally {
            pool.shutdownNow();
        }
    }

    private HostBackups ask(AgentChannels channels, String cluster, MemberPlan m, Function<AgentClient, BackupList> how) {
        try (AgentClient agent = channels.connect(m.agentEndpoint())) {
            BackupList list = how.apply(agent);
            String last = list.getObjectStoreError().isEmpty() ? list.getLastResult()
                    : list.getLastResult() + "; " + list.getObjectStore() + " could not be listed: " + list.getObjectStoreError();
            return new HostBackups(cluster, m.hostName(), m.agentEndpoint().toString(), list.getConfigured(), last, null,
                    list.getBackupsList());
        } catch (RuntimeException e) {
            return failed(cluster, m, AgentError.describe(e, m.agentEndpoint().toString()));
        }
    }

    private static HostBackups failed(String cluster, MemberPlan m, String why) {
        return new HostBackups(cluster, m.hostName(), m.agentEndpoint().toString(), false, "", why, List.of());
    }

    /** Per cluster, in the order of {@code rows}: the newest trusted backup on any of its hosts, and its age at {@code now}. */
    public static List<ClusterBackups> summarize(List<HostBackups> rows, Instant now) {
        Map<String, List<HostBackups>> byCluster = new java.util.LinkedHashMap<>();
        rows.forEach(r -> byCluster.computeIfAbsent(r.cluster(), c -> new ArrayList<>()).add(r));
        List<ClusterBackups> out = new ArrayList<>();
        byCluster.forEach((cluster, hosts) -> {
            List<BackupEntry> all = hosts.stream().flatMap(h -> h.backups().stream()).toList();
            List<BackupEntry> trusted = all.stream().filter(b -> b.getTrusted() && b.getProblem().isEmpty()).toList();
            Optional<BackupEntry> newest = trusted.stream().max(Comparator.comparing(b -> Instant.parse(b.getTakenAt())));
            out.add(new ClusterBackups(cluster, hosts.size(), (int) hosts.stream().filter(HostBackups::configured).count(),
                    trusted.size(), all.size() - trusted.size(), newest,
                    newest.map(b -> Duration.between(Instant.parse(b.getTakenAt()), now)),
                    all.stream().filter(BackupEntry::hasLastDrill).map(BackupEntry::getLastDrill)
                            .max(Comparator.comparing(d -> Instant.parse(d.getAt())))));
        });
        return out;
    }
}
