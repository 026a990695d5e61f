package dev.etcdrescue.coordinator.member;

import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.member.ClusterView.EtcdMember;
import dev.etcdrescue.coordinator.member.ClusterView.HostRow;
import dev.etcdrescue.coordinator.member.ClusterView.Quorum;
import dev.etcdrescue.coordinator.report.RecoveryReport.Check;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * replace-member's checks before any change, from what {@link ClusterLook} saw and what the target host's agent
 * answered. Pure: every fact comes in, a list of checks goes out; the run goes on only when all hold.
 */
public final class ReplaceChecks {
    private ReplaceChecks() {}

    /** What the target host's agent said: its etcd, the free bytes where the data dir goes, its own refusals. */
    public record Target(boolean agentReachable, String agentError, String etcdVersion, long freeBytes, List<String> errors) {
        public Target {
            errors = List.copyOf(errors);
        }
    }

    /**
     * @param peerAnswers whether the member's peer URL accepted a connection from here
     * @param ownLearner a learner with the member's peer URL left by an interrupted run of this same replacement
     */
    public static List<Check> check(ClusterView view, MemberPlan member, boolean peerAnswers, Target target, boolean ownLearner) {
        return check(view, member, member, peerAnswers, target, ownLearner);
    }

    /**
     * As above, the replacement on {@code to}: the member's own host, or another host of the cluster's group
     * ({@code --to}) that must not be a member yet.
     */
    public static List<Check> check(ClusterView view, MemberPlan member, MemberPlan to, boolean peerAnswers, Target target,
                                    boolean ownLearner) {
        List<Check> checks = new ArrayList<>();
        Quorum q = view.quorum();
        checks.add(new Check("quorum now", q.holds(), q.healthyVoters() + " of " + q.voters() + " voting members healthy, " + q.needed()
                + " needed" + (view.leader() == null ? ", no leader" : ", leader " + view.leader())));
        Optional<EtcdMember> listed = listed(view, member);
        int votersAfter = q.voters() - (listed.filter(m -> !m.learner()).isPresent() ? 1 : 0);
        checks.add(new Check("3 or more members", votersAfter + 1 >= 3, (votersAfter + 1) + " members with the replacement"
                + (votersAfter + 1 >= 3 ? "" : ": a 2-member cluster has no quorum without either member; recover instead")));
        int healthyAfter = q.healthyVoters() - (listed.filter(EtcdMember::healthy).isPresent() ? 1 : 0);
        checks.add(new Check("quorum after removal", healthyAfter >= Quorum.of(Math.max(votersAfter, 1)), healthyAfter + " of "
                + votersAfter + " healthy once " + member.etcdName() + " is removed, " + Quorum.of(Math.max(votersAfter, 1)) + " needed"));
        List<EtcdMember> learners = view.learners().stream().filter(l -> !(ownLearner && samePeer(l, to))).toList();
        checks.add(new Check("no learner in flight", learners.isEmpty(), learners.isEmpty()
                ? (ownLearner ? "only this run's own learner (resumed)" : "none")
                : "learner " + learners.get(0).name() + " " + learners.get(0).peerUrls() + ": finish or remove it first"));
        checks.add(dead(view, member, listed, peerAnswers, ownLearner));
        if (!to.hostName().equals(member.hostName())) {
            // A member at the target's peer URL left by an interrupted run of this replacement is its own (add takes it over).
            Optional<EtcdMember> already = ownLearner ? Optional.empty() : listed(view, to);
            checks.add(new Check("target not a member", already.isEmpty(), already.map(m -> to.hostName() + " is already member "
                    + m.name() + " " + m.id() + " " + m.peerUrls() + ": --to names a host of the inventory that is not a member yet")
                    .orElse(to.hostName() + " (" + to.peerUrls().get(0) + ") is not in the member list")));
        }
        checks.add(new Check("target agent", target.agentReachable() && target.errors().isEmpty(), target.agentReachable()
                ? (target.errors().isEmpty() ? "answers" : String.join("; ", target.errors()))
                : "unreachable: " + target.agentError() + " (the new member is configured and started by it on " + to.hostName() + ")"));
        long needed = 2 * view.dbSize();
        checks.add(new Check("disk", !target.agentReachable() || target.freeBytes() >= needed, target.freeBytes() + " bytes free for "
                + to.dataDir() + " on " + to.hostName() + ", " + needed + " needed (twice the db size " + view.dbSize() + ")"));
        Optional<String> cluster = view.etcdVersion();
        boolean sameMinor = cluster.isPresent() && target.etcdVersion() != null && minor(cluster.get()).equals(minor(target.etcdVersion()));
        checks.add(new Check("etcd version", sameMinor, "cluster " + cluster.orElse("?") + ", " + to.hostName() + " has "
                + (target.etcdVersion() == null || target.etcdVersion().isEmpty() ? "no etcd found" : target.etcdVersion())
                + cluster.filter(ReplaceChecks::promotionNotPersisted).map(v -> "; warning: etcd " + v + " does not persist a learner's"
                        + " promotion in its v3 store (etcd#19557, fixed in 3.5.20): upgrade to 3.5.20 or later before any upgrade to 3.6")
                        .orElse("")));
        return checks;
    }

    /** etcd 3.5.1 to 3.5.19 keep a promoted learner marked as a learner in bbolt, which a later 3.6 refuses to start with. */
    static boolean promotionNotPersisted(String version) {
        String[] p = version.strip().split("[.-]");
        try {
            return p.length >= 3 && p[0].equals("3") && p[1].equals("5") && Integer.parseInt(p[2]) >= 1 && Integer.parseInt(p[2]) <= 19;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static Check dead(ClusterView view, MemberPlan member, Optional<EtcdMember> listed, boolean peerAnswers, boolean ownLearner) {
        if (listed.isPresent() && listed.get().learner() && ownLearner) {
            return new Check("member really dead", true, "already replaced by this run's learner " + listed.get().id());
        }
        if (listed.isPresent() && listed.get().healthy()) {
            return new Check("member really dead", false, member.etcdName() + " answers with a leader: it is not dead, nothing to replace");
        }
        Optional<HostRow> row = view.host(member.hostName());
        List<String> why = new ArrayList<>();
        boolean ok = true;
        if (peerAnswers) {
            ok = false;
            why.add("its peer URL " + member.peerUrls().get(0) + " still accepts connections");
        } else {
            why.add("peer URL " + member.peerUrls().get(0) + " unreachable");
        }
        if (row.isPresent() && row.get().agentReachable()) {
            Optional<String> running = ClusterLook.runningUnit(row.get());
            if (running.isPresent()) {
                ok = false;
                why.add("its agent reports " + running.get() + " " + row.get().units().get(running.get()) + ": stop it first, or it is alive");
            } else {
                why.add("its agent reports " + row.get().units());
            }
        } else {
            why.add("its agent unreachable");
        }
        if (listed.isEmpty()) {
            why.add("not in the member list any more (removed earlier)");
        }
        return new Check("member really dead", ok, String.join(", ", why));
    }

    /** The member list's entry of the inventory's member: by name, or by peer URL (a learner not yet started has no name). */
    public static Optional<EtcdMember> listed(ClusterView view, MemberPlan member) {
        return view.members().stream().filter(m -> m.name().equals(member.etcdName()) || samePeer(m, member)).findFirst();
    }

    static boolean samePeer(EtcdMember m, MemberPlan member) {
        return member.peerUrls().stream().map(URI::toString).anyMatch(m.peerUrls()::contains);
    }

    private static String minor(String version) {
        String[] parts = version.strip().split("\\.");
        return parts.length >= 2 ? parts[0] + "." + parts[1] : version;
    }
}
