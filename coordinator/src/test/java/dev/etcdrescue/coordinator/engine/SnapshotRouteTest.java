package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.coordinator.agent.SnapshotDistribution.Mode;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.EtcdAccess;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.inventory.SnapshotSource;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Which way the snapshot goes, and what happens when the source's agent cannot take it. */
@Timeout(30)
class SnapshotRouteTest {
    private static final URI ON_BETA_1 = URI.create("http://10.0.0.2:2379");

    @Test
    void byDefaultTheSourceHostsAgentFansOutToAThreeMemberClusterAndChainsBeyond() {
        SnapshotRoute.Plan three = SnapshotRoute.plan(Mode.AUTO, false, cluster(3), ON_BETA_1);
        assertThat(three.mode()).isEqualTo(Mode.SOURCE_FANOUT);
        assertThat(three.sourceHost()).contains("beta-1");

        assertThat(SnapshotRoute.plan(Mode.AUTO, false, cluster(4), ON_BETA_1).mode()).isEqualTo(Mode.SOURCE_CHAIN);
        assertThat(SnapshotRoute.plan(Mode.AUTO, false, cluster(5), ON_BETA_1).mode()).isEqualTo(Mode.SOURCE_CHAIN);
        assertThat(SnapshotRoute.plan(Mode.SOURCE_FANOUT, false, cluster(5), ON_BETA_1).mode()).as("the operator's choice")
                .isEqualTo(Mode.SOURCE_FANOUT);
        assertThat(SnapshotRoute.plan(Mode.SOURCE_CHAIN, false, cluster(3), ON_BETA_1).mode()).as("the operator's choice")
                .isEqualTo(Mode.SOURCE_CHAIN);
    }

    @Test
    void aSourceOnNoInventoryHostOrAFileGoesThroughTheCoordinator() {
        SnapshotRoute.Plan elsewhere = SnapshotRoute.plan(Mode.AUTO, false, cluster(3), URI.create("http://10.9.9.9:2379"));
        assertThat(elsewhere.mode()).isEqualTo(Mode.STREAMED);
        assertThat(elsewhere.sourceHost()).isEmpty();
        assertThat(elsewhere.why()).contains("on no inventory host");

        assertThat(SnapshotRoute.plan(Mode.AUTO, true, cluster(3), null).mode()).isEqualTo(Mode.DIRECT);
        assertThat(SnapshotRoute.plan(Mode.RELAY, true, cluster(3), null).mode()).isEqualTo(Mode.RELAY);
        assertThat(SnapshotRoute.plan(Mode.RELAY, false, cluster(3), ON_BETA_1).sourceHost()).as("relay: the coordinator's path")
                .isEmpty();
    }

    @Test
    void aForcedSourceModeWhereItCannotRunIsRefusedSayingWhatToUse() {
        assertThatThrownBy(() -> SnapshotRoute.plan(Mode.SOURCE_FANOUT, true, cluster(3), null))
                .hasMessageContaining("snapshot_file").hasMessageContaining("use --distribution direct or relay");
        assertThatThrownBy(() -> SnapshotRoute.plan(Mode.SOURCE_CHAIN, false, cluster(3), URI.create("http://10.9.9.9:2379")))
                .hasMessageContaining("http://10.9.9.9:2379").hasMessageContaining("on none");
    }

    @Test
    void theDefaultFallsBackToTheCoordinatorWhenTheAgentCannotTakeItAndAForcedModeStops() {
        assertThat(SnapshotRoute.fallback(Mode.AUTO)).contains(Mode.STREAMED);
        assertThat(SnapshotRoute.fallback(Mode.SOURCE_FANOUT)).isEmpty();
        assertThat(SnapshotRoute.fallback(Mode.SOURCE_CHAIN)).isEmpty();
    }

    @Test
    void theSourceHostIsFoundByItsAgentAddressToo() {
        List<MemberPlan> members = new ArrayList<>(cluster(3).members());
        MemberPlan m = members.get(2);
        members.set(2, new MemberPlan(m.hostName(), m.etcdName(), "192.168.1.3", "10.0.0.3", m.agentPort(), m.peerUrls(),
                m.clientUrls(), m.listenPeerUrls(), m.listenClientUrls(), m.dataDir(), m.walDir(), m.newUnit(), m.oldUnit(), null, null));
        ClusterPlan plan = new ClusterPlan("beta", "token", new SnapshotSource.Endpoints(List.of()), Path.of("/pki"), members,
                EtcdAccess.NONE);
        assertThat(SnapshotRoute.sourceHost(plan, URI.create("http://10.0.0.3:2379")).map(MemberPlan::hostName)).isEqualTo(Optional.of("beta-2"));
    }

    private static ClusterPlan cluster(int size) {
        List<MemberPlan> members = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            String address = "10.0.0." + (i + 1);
            members.add(new MemberPlan("beta-" + i, "beta-" + i, address, address, 7443, List.of(URI.create("http://" + address + ":22380")),
                    List.of(URI.create("http://" + address + ":22379")), List.of(URI.create("http://" + address + ":22380")),
                    List.of(URI.create("http://" + address + ":22379")), "/var/lib/etcd/new.etcd", null, "etcd_new", "etcd", null, null));
        }
        return new ClusterPlan("beta", "token", new SnapshotSource.Endpoints(List.of()), Path.of("/pki"), members, EtcdAccess.NONE);
    }
}
