package dev.etcdrescue.coordinator.member;

import dev.etcdrescue.coordinator.member.ClusterView.EtcdMember;
import dev.etcdrescue.coordinator.member.ClusterView.HostRow;
import java.util.List;
import java.util.Optional;

/**
 * Which command fits a cluster as {@link ClusterView} shows it: nothing, replace-member of one member (quorum
 * holds without it, and still would after its removal), recover (quorum is lost), or a person's attention
 * (a learner or an alarm, or a loss that no command here repairs safely).
 *
 * @param command the command line to type, with the inventory's path; null for {@link Kind#HEALTHY}
 */
public record Verdict(Kind kind, String member, String reason, String command) {
    /** In increasing gravity: a fleet's verdict is its gravest cluster's. */
    public enum Kind { HEALTHY, REPLACE_MEMBER, ATTENTION, RECOVER }

    public static Verdict of(ClusterView view, String inventory) {
        String recover = "etcd-rescue recover -i " + inventory + " --limit " + view.cluster();
        if (view.memberListFrom() == null) {
            return new Verdict(Kind.RECOVER, null, "no member answers", recover + " (from a backup: --from-backup latest)");
        }
        if (!view.quorum().holds()) {
            return new Verdict(Kind.RECOVER, null, "quorum lost: " + view.quorum().healthyVoters() + " of " + view.quorum().voters()
                    + " voting members healthy, " + view.quorum().needed() + " needed" + (view.leader() == null ? ", no leader" : ""), recover);
        }
        if (!view.learners().isEmpty()) {
            EtcdMember l = view.learners().get(0);
            return new Verdict(Kind.ATTENTION, l.name(), "learner " + describe(l) + " is in the member list: a replace-member is under way or"
                    + " was interrupted; resume it (etcd-rescue resume RUN_DIR) or remove the learner", null);
        }
        List<EtcdMember> dead = view.deadVoters();
        if (!dead.isEmpty()) {
            EtcdMember d = dead.get(0);
            Optional<String> planned = plannedName(view, d);
            int voters = view.quorum().voters();
            if (voters < 3) {
                return new Verdict(Kind.ATTENTION, d.name(), voters + " voting members and " + describe(d) + " is down: a member is replaced"
                        + " only in clusters of 3 or more (removing one of 2 leaves a single member)", recover);
            }
            if (view.quorum().healthyVoters() < ClusterView.Quorum.of(voters - 1)) {
                return new Verdict(Kind.ATTENTION, d.name(), "removing " + describe(d) + " would leave " + view.quorum().healthyVoters()
                        + " healthy of " + (voters - 1) + ", below quorum", recover);
            }
            if (planned.isEmpty()) {
                return new Verdict(Kind.ATTENTION, d.name(), describe(d) + " is down and the inventory has no host for it:"
                        + " add the host to the inventory, or remove the member by hand (etcdctl member remove " + d.id() + ")", null);
            }
            // Quorum holds without the first dead member, so it holds for each after it: replaced ones count as healthy again.
            List<String> all = dead.stream().map(x -> plannedName(view, x)).flatMap(Optional::stream).toList();
            String more = all.size() > 1 ? " (" + dead.size() + " members down: replaced one at a time, in this order)" : "";
            return new Verdict(Kind.REPLACE_MEMBER, planned.get(), describe(d) + " is down, quorum holds without it" + more,
                    "etcd-rescue replace-member -i " + inventory + " --limit " + view.cluster() + " --member " + String.join(" --member ", all));
        }
        for (HostRow h : view.hosts()) {
            boolean listed = view.members().stream().anyMatch(m -> m.name().equals(h.etcdName()));
            if (!listed) {
                return new Verdict(Kind.REPLACE_MEMBER, h.etcdName(), "the inventory's member " + h.etcdName() + " (host " + h.host()
                        + ") is not in the member list: it was removed", "etcd-rescue replace-member -i " + inventory + " --limit "
                        + view.cluster() + " --member " + h.etcdName());
            }
        }
        if (!view.alarms().isEmpty()) {
            return new Verdict(Kind.ATTENTION, null, "alarm raised: " + String.join(", ", view.alarms())
                    + " (NOSPACE: compact, defragment, raise the quota, then etcdctl alarm disarm)", null);
        }
        return new Verdict(Kind.HEALTHY, null, view.quorum().voters() + " members healthy, leader " + view.leader() + ", no alarm", null);
    }

    /** The inventory's name of a listed member: by name, or (a member added but never started has none) by peer URL. */
    private static Optional<String> plannedName(ClusterView view, EtcdMember m) {
        for (HostRow h : view.hosts()) {
            if (h.etcdName().equals(m.name())) {
                return Optional.of(h.etcdName());
            }
        }
        return Optional.empty();
    }

    private static String describe(EtcdMember m) {
        return "member " + (m.name().isEmpty() ? "(unstarted)" : m.name()) + " (" + m.id() + ", " + String.join(",", m.peerUrls()) + ")";
    }
}
