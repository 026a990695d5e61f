package dev.etcdrescue.coordinator.rollout;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * Asks every host's agent of the given clusters for its status (GetStatus over mTLS), all at once.
 * A host that cannot be asked is a row with the reason, never an exception.
 */
public final class FleetStatus {
    private final Function<Path, AgentChannels> channelsOf;
    private final Duration timeout;

    /**
     * @param channelsOf the coordinator's TLS per tls_dir (loading refuses missing files, before any host is asked)
     * @param timeout how long all hosts together get to answer; a host still silent then is a row saying so
     */
    public FleetStatus(Function<Path, AgentChannels> channelsOf, Duration timeout) {
        this.channelsOf = channelsOf;
        this.timeout = timeout;
    }

    /** One row per host, in inventory order. */
    public List<HostStatus> probe(List<ClusterPlan> clusters) throws InterruptedException {
        Map<Path, AgentChannels> channels = new HashMap<>();
        for (ClusterPlan plan : clusters) {
            channels.computeIfAbsent(plan.tlsDir(), channelsOf);
        }
        int hosts = clusters.stream().mapToInt(c -> c.members().size()).sum();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(hosts, 16)), r -> {
            Thread t = new Thread(r, "status");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<HostStatus>> asked = new ArrayList<>();
            List<String[]> who = new ArrayList<>();
            for (ClusterPlan plan : clusters) {
                AgentChannels ch = channels.get(plan.tlsDir());
                for (MemberPlan m : plan.members()) {
                    asked.add(pool.submit(() -> ask(ch, plan.name(), m)));
                    who.add(new String[] {plan.name(), m.hostName(), m.agentEndpoint().toString()});
                }
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            List<HostStatus> rows = new ArrayList<>();
            for (int i = 0; i < asked.size(); i++) {
                String[] w = who.get(i);
                try {
                    rows.add(asked.get(i).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
                } catch (TimeoutException e) {
                    asked.get(i).cancel(true);
                    rows.add(HostStatus.unreachable(w[0], w[1], w[2], "no answer within " + timeout.toSeconds() + "s"));
                } catch (ExecutionException e) {
                    rows.add(HostStatus.unreachable(w[0], w[1], w[2], AgentError.describe(e.getCause(), w[2])));
                }
            }
            return rows;
        } finally {
            pool.shutdownNow();
        }
    }

    private static HostStatus ask(AgentChannels channels, String cluster, MemberPlan m) {
        try (AgentClient agent = channels.connect(m.agentEndpoint())) {
            return HostStatus.of(cluster, m.hostName(), m.agentEndpoint().toString(), agent.status());
        } catch (RuntimeException e) {
            return HostStatus.unreachable(cluster, m.hostName(), m.agentEndpoint().toString(),
                    AgentError.describe(e, m.agentEndpoint().toString()));
        }
    }
}
