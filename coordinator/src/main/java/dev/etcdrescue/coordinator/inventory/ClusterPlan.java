package dev.etcdrescue.coordinator.inventory;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.StringJoiner;

/** One cluster to restore: every member, in inventory order, and what is shared by all of them. */
public record ClusterPlan(String name, String token, SnapshotSource snapshot, Path tlsDir, List<MemberPlan> members) {
    public ClusterPlan {
        members = List.copyOf(members);
    }

    /** etcd's {@code --initial-cluster}: {@code name=peerurl,...} in inventory order. */
    public String initialCluster() {
        StringJoiner joiner = new StringJoiner(",");
        for (MemberPlan member : members) {
            for (URI peerUrl : member.peerUrls()) {
                joiner.add(member.etcdName() + "=" + peerUrl);
            }
        }
        return joiner.toString();
    }
}
