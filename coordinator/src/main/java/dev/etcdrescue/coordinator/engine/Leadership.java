package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.cluster.Member;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Who leads the restored cluster, and handing that over: a member restarted while it leads costs the
 * cluster an election timeout (seconds) before anything commits again; a handover takes one round trip.
 */
final class Leadership {
    private static final Duration CALL = Duration.ofSeconds(5);
    private final EtcdClients clients;

    Leadership(EtcdClients clients, ClusterPlan plan) {
        this.clients = clients.with(plan.etcdAccess());
    }

    /** The host whose member leads, as seen by {@code via}, where {@code plan} holds the URLs members serve now. */
    Optional<String> leaderHost(ClusterPlan plan, MemberPlan via) throws Exception {
        URI url = via.clientUrls().get(0);
        try (Client c = clients.forMember(url)) {
            long leader = c.getMaintenanceClient().statusMember(url.toString()).get(CALL.toMillis(), TimeUnit.MILLISECONDS).getLeader();
            List<Member> members = c.getClusterClient().listMember().get(CALL.toMillis(), TimeUnit.MILLISECONDS).getMembers();
            return members.stream().filter(m -> m.getId() == leader).map(Member::getName).findFirst()
                    .flatMap(name -> plan.members().stream().filter(p -> p.etcdName().equals(name)).map(MemberPlan::hostName).findFirst());
        }
    }

    /** Asks {@code leader} (at the URL it serves now) to hand leadership to {@code to}; returns when it has. */
    void handOver(MemberPlan leader, MemberPlan to) throws Exception {
        URI url = leader.clientUrls().get(0);
        try (Client c = clients.forMember(url)) {
            long target = c.getClusterClient().listMember().get(CALL.toMillis(), TimeUnit.MILLISECONDS).getMembers().stream()
                    .filter(m -> m.getName().equals(to.etcdName())).mapToLong(Member::getId).findFirst()
                    .orElseThrow(() -> new IllegalStateException(to.etcdName() + " is not in the member list"));
            c.getMaintenanceClient().moveLeader(target).get(CALL.toMillis(), TimeUnit.MILLISECONDS);
        }
    }
}
