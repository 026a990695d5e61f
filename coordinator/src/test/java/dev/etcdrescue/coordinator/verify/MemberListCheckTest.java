package dev.etcdrescue.coordinator.verify;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.inventory.SnapshotSource;
import dev.etcdrescue.coordinator.report.RecoveryReport.Check;
import io.etcd.jetcd.cluster.Member;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MemberListCheckTest {
    private static MemberPlan plan(int i) {
        String addr = "192.168.149." + (60 + i);
        URI peer = URI.create("http://" + addr + ":22380");
        URI client = URI.create("http://" + addr + ":22379");
        return new MemberPlan("host-" + i, "beta-" + i, addr, addr, 7443, List.of(peer), List.of(client), List.of(peer),
                List.of(client), "/var/lib/etcd/new.etcd", null, "etcd_new", "etcd", null, null);
    }

    private static Member member(long id, String name, String peer, String client) {
        return new Member(io.etcd.jetcd.api.Member.newBuilder().setID(id).setName(name)
                .addPeerURLs(peer).addClientURLs(client).build());
    }

    private static ClusterPlan cluster() {
        List<MemberPlan> members = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            members.add(plan(i));
        }
        return new ClusterPlan("beta", "tok", new SnapshotSource.Endpoints(List.of(URI.create("http://192.168.149.60:2379"))),
                Path.of("/pki"), members);
    }

    private static List<Member> asPlanned(ClusterPlan c) {
        List<Member> out = new ArrayList<>();
        long id = 1;
        for (MemberPlan m : c.members()) {
            out.add(member(id++, m.etcdName(), m.peerUrls().get(0).toString(), m.clientUrls().get(0).toString()));
        }
        return out;
    }

    @Test
    void planExactlyMetPasses() {
        Check c = ClusterVerifier.memberList(cluster(), asPlanned(cluster()));
        assertThat(c.ok()).isTrue();
    }

    /** The seed's own final table: beta-3 (on .62) advertised .63's client URL. */
    @Test
    void seedsWrongClientUrlIsCaughtAndNamesTheHostAndTheOwnerOfTheAddress() {
        ClusterPlan c = cluster();
        List<Member> members = asPlanned(c);
        members.set(2, member(3, "beta-2", "http://192.168.149.62:22380", "http://192.168.149.63:22379"));
        Check check = ClusterVerifier.memberList(c, members);
        assertThat(check.ok()).isFalse();
        assertThat(check.detail()).contains("host host-2").contains("http://192.168.149.63:22379")
                .contains("host host-3's address");
    }

    @Test
    void missingAndUnplannedMembersAreNamed() {
        ClusterPlan c = cluster();
        List<Member> members = asPlanned(c);
        members.remove(4);
        members.add(member(99, "stranger", "http://10.9.9.9:2380", "http://10.9.9.9:2379"));
        Check check = ClusterVerifier.memberList(c, members);
        assertThat(check.ok()).isFalse();
        assertThat(check.detail()).contains("no member named beta-4").contains("unplanned member stranger");
    }
}
