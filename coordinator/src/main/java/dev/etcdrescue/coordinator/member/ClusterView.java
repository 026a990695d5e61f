package dev.etcdrescue.coordinator.member;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What one running cluster looks like right now, from etcd's own answers and each host's agent: the
 * input of doctor's verdict and of replace-member's checks. Read-only; nothing here is the inventory's word
 * except which hosts to ask.
 *
 * @param hosts one row per inventory host, in inventory order
 * @param members etcd's member list, from a member that sees a leader (else from any member that answers)
 * @param memberListFrom the client URL the member list came from; null when no member answered
 * @param alarms every alarm raised, in words ("NOSPACE on member 8e9e05c52164694d")
 */
public record ClusterView(String cluster, List<HostRow> hosts, List<EtcdMember> members, String memberListFrom,
                          List<String> alarms, String leader, Quorum quorum, long minRevision, long maxRevision) {
    public ClusterView {
        hosts = List.copyOf(hosts);
        members = List.copyOf(members);
        alarms = List.copyOf(alarms);
    }

    /** One inventory host: its member's answer (or why none) and its agent's. */
    public record HostRow(String host, String etcdName, String clientUrl, boolean answers, String etcdError, String etcdVersion,
                          long revision, long raftIndex, long dbSize, long memberId, boolean learner, boolean seesLeader,
                          boolean agentReachable, String agentError, String agentPhase, String agentClaim, Map<String, String> units) {
        public HostRow {
            units = Map.copyOf(units);
        }
    }

    /** One entry of etcd's member list; {@code healthy}: it answers with a leader and no error. */
    public record EtcdMember(String id, String name, List<String> peerUrls, List<String> clientUrls, boolean learner,
                             boolean healthy) {
        public EtcdMember {
            peerUrls = List.copyOf(peerUrls);
            clientUrls = List.copyOf(clientUrls);
        }
    }

    /** Voting members, how many of them are healthy, how many a quorum needs, and whether one leader is seen. */
    public record Quorum(int voters, int healthyVoters, int needed, boolean holds) {
        /** A majority of {@code voters}. */
        public static int of(int voters) {
            return voters / 2 + 1;
        }
    }

    public Optional<HostRow> host(String name) {
        return hosts.stream().filter(h -> h.host().equals(name) || h.etcdName().equals(name)).findFirst();
    }

    public List<EtcdMember> learners() {
        return members.stream().filter(EtcdMember::learner).toList();
    }

    public List<EtcdMember> deadVoters() {
        return members.stream().filter(m -> !m.learner() && !m.healthy()).toList();
    }

    /** The largest db size any member reports: what a new member must fetch. */
    public long dbSize() {
        return hosts.stream().mapToLong(HostRow::dbSize).max().orElse(0);
    }

    /** The version the healthy members run ("3.4.23"); empty when none answered. */
    public Optional<String> etcdVersion() {
        return hosts.stream().filter(h -> h.answers() && h.etcdVersion() != null).map(HostRow::etcdVersion).findFirst();
    }
}
