package dev.etcdrescue.coordinator.inventory;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.StringJoiner;

/**
 * One cluster to restore: every member, in inventory order, and what is shared by all of them.
 * {@code etcdAccess} is how the coordinator reaches etcd (TLS, auth) for the snapshot and verify.
 */
public record ClusterPlan(String name, String token, SnapshotSource snapshot, Path tlsDir, List<MemberPlan> members,
                          EtcdAccess etcdAccess) {
    public ClusterPlan {
        members = List.copyOf(members);
        Objects.requireNonNull(etcdAccess, "etcdAccess");
    }

    /** A cluster the coordinator reaches over plain http without auth. */
    public ClusterPlan(String name, String token, SnapshotSource snapshot, Path tlsDir, List<MemberPlan> members) {
        this(name, token, snapshot, tlsDir, members, EtcdAccess.NONE);
    }

    /** The same cluster restored from another source (a backup fetched for {@code recover --from-backup}). */
    public ClusterPlan withSnapshot(SnapshotSource other) {
        return new ClusterPlan(name, token, other, tlsDir, members, etcdAccess);
    }

    /** The same cluster with other members (a subset, or fenced copies), everything else kept. */
    public ClusterPlan withMembers(List<MemberPlan> others) {
        return new ClusterPlan(name, token, snapshot, tlsDir, others, etcdAccess);
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
