package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.proto.v1.EnvSetting;
import dev.etcdrescue.proto.v1.Member;
import dev.etcdrescue.proto.v1.MemberSpec;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/** The plan of one member, in the contract's terms. */
final class MemberSpecs {
    private MemberSpecs() {}

    static MemberSpec of(ClusterPlan cluster, MemberPlan m) {
        MemberSpec.Builder b = MemberSpec.newBuilder()
                .setName(m.etcdName())
                .addAllPeerUrls(strings(m.peerUrls()))
                .addAllClientUrls(strings(m.clientUrls()))
                .addAllListenPeerUrls(strings(m.listenPeerUrls()))
                .addAllListenClientUrls(strings(m.listenClientUrls()))
                .setDataDir(m.dataDir())
                .setInitialClusterToken(cluster.token());
        if (m.walDir() != null) {
            b.setWalDir(m.walDir());
        }
        for (MemberPlan other : cluster.members()) {
            b.addInitialCluster(Member.newBuilder().setName(other.etcdName()).addAllPeerUrls(strings(other.peerUrls())));
        }
        return b.build();
    }

    static List<EnvSetting> extras(MemberPlan m) {
        List<EnvSetting> extra = new ArrayList<>();
        if (m.heartbeatIntervalMs() != null) {
            extra.add(EnvSetting.newBuilder().setKey("ETCD_HEARTBEAT_INTERVAL").setValue(m.heartbeatIntervalMs().toString()).build());
        }
        if (m.electionTimeoutMs() != null) {
            extra.add(EnvSetting.newBuilder().setKey("ETCD_ELECTION_TIMEOUT").setValue(m.electionTimeoutMs().toString()).build());
        }
        return extra;
    }

    static List<String> strings(List<URI> uris) {
        return uris.stream().map(URI::toString).toList();
    }
}
