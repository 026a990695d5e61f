package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The quarantine of etcd-manager: restored members first serve clients only on another port of their
 * own address, which only the coordinator uses; ordinary clients (still configured with the planned
 * client URLs) cannot reach a cluster that has not passed verify.
 *
 * <p>Needed only where clients could reach the new members: when a planned client port is one the old
 * cluster served (a restore in place), or when nothing tells which ports those were. Members restored on
 * new ports, as in the seed (2379 to 22379), are reached by no client until it is pointed at them, after
 * the recovery; a fence there would only cost every member a restart (release) and the cluster minutes of
 * index rebuilding with large data (docs/decisions/0011).
 */
final class Fence {
    /** etcd's old env settings that name the ports clients used. */
    static final List<String> OLD_CLIENT_KEYS = List.of("ETCD_LISTEN_CLIENT_URLS", "ETCD_ADVERTISE_CLIENT_URLS");

    private Fence() {}

    /**
     * Whether to fence, and a sentence saying why (for the report and plan).
     *
     * @param port the client port members serve on until release, 0 for no fence
     */
    record Decision(int port, String why) {
        boolean fenced() {
            return port > 0;
        }
    }

    /**
     * @param oldEnvs the old members' env files as the agents read them (hosts without one: absent or empty)
     * @param oldEndpoints the old cluster's client URLs the inventory names (snapshot_endpoints), if any
     */
    static Decision decide(ClusterPlan plan, RecoveryOptions options, Collection<Map<String, String>> oldEnvs,
                           List<URI> oldEndpoints) {
        int port = options.fencePort();
        if (port == 0) {
            return new Decision(0, "none (--fence-port 0)");
        }
        String fenced = "new members serve clients only on port " + port + " until verify passes, then move to their"
                + " planned client URLs (release)";
        if (options.fence() == RecoveryOptions.FenceMode.ALWAYS) {
            return new Decision(port, fenced + " (--fence always)");
        }
        Set<Integer> old = new TreeSet<>();
        oldEndpoints.forEach(u -> old.add(portOf(u)));
        for (Map<String, String> env : oldEnvs) {
            for (String key : OLD_CLIENT_KEYS) {
                for (String url : env.getOrDefault(key, "").split(",")) {
                    if (!url.isBlank()) {
                        try {
                            old.add(portOf(new URI(url.strip())));
                        } catch (URISyntaxException e) {
                            return new Decision(port, fenced + ": the old " + key + " " + url + " is not a URL, so the old client"
                                    + " ports are not known");
                        }
                    }
                }
            }
        }
        Set<Integer> planned = new TreeSet<>();
        plan.members().forEach(m -> m.clientUrls().forEach(u -> planned.add(portOf(u))));
        if (old.isEmpty()) {
            return new Decision(port, fenced + ": the old cluster's client ports are not known (no old member's settings name them,"
                    + " no snapshot_endpoints)");
        }
        Set<Integer> shared = new TreeSet<>(planned);
        shared.retainAll(old);
        if (!shared.isEmpty()) {
            return new Decision(port, fenced + ": client port " + shared + " was the old cluster's, whose clients may still"
                    + " be pointed at it");
        }
        return new Decision(0, "none needed: the planned client port " + planned + " is not the old cluster's " + old
                + ", so no client reaches the new members until it is pointed at them (--fence always to fence anyway)");
    }

    private static int portOf(URI url) {
        return url.getPort() > 0 ? url.getPort() : "https".equals(url.getScheme()) ? 443 : 2379;
    }

    static MemberPlan fenced(MemberPlan m, int port) {
        List<URI> client = List.of(withPort(m.clientUrls().get(0), port));
        return m.withClientUrls(client);
    }

    static ClusterPlan fenced(ClusterPlan plan, int port) {
        return plan.withMembers(plan.members().stream().map(m -> fenced(m, port)).toList());
    }

    static URI withPort(URI url, int port) {
        try {
            return new URI(url.getScheme(), null, url.getHost(), port, null, null, null);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("cannot move " + url + " to port " + port, e);
        }
    }
}
