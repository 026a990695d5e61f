package dev.etcdrescue.agent.spec;

import dev.etcdrescue.proto.v1.Member;
import dev.etcdrescue.proto.v1.MemberSpec;
import java.nio.file.Path;

/** The seed's member beta-0, with its data dir moved under a given root. */
public final class TestPlans {
    private TestPlans() {}

    public static MemberSpec.Builder seedMember(Path dataRoot) {
        MemberSpec.Builder spec = MemberSpec.newBuilder()
                .setName("lv-etcd-research-beta-0")
                .addPeerUrls("http://192.168.149.60:22380")
                .addClientUrls("http://192.168.149.60:22379")
                .addListenPeerUrls("http://0.0.0.0:22380")
                .addListenClientUrls("http://0.0.0.0:22379")
                .setDataDir(dataRoot.resolve("new.etcd").toString())
                .setInitialClusterToken("lv-etcd-research-beta-temp");
        String[] ips = {"192.168.149.60", "192.168.149.63", "192.168.149.61", "192.168.149.62", "192.168.149.64"};
        for (int i = 0; i < ips.length; i++) {
            spec.addInitialCluster(Member.newBuilder().setName("lv-etcd-research-beta-" + i)
                    .addPeerUrls("http://" + ips[i] + ":22380"));
        }
        return spec;
    }
}
