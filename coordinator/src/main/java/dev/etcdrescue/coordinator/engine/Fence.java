package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;

/**
 * The quarantine of etcd-manager: restored members first serve clients only on another port of their
 * own address, which only the coordinator uses; ordinary clients (still configured with the planned
 * client URLs) cannot reach a cluster that has not passed verify.
 */
final class Fence {
    private Fence() {}

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
