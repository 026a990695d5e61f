package dev.etcdrescue.coordinator.member;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.RollbackRequest;
import dev.etcdrescue.proto.v1.RollbackResult;
import io.etcd.jetcd.cluster.Member;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Undoes a replace-member run, in reverse, as far as it can be undone: the target host's agent rolls back what
 * the run did there (the new unit stopped and disabled, the env and unit files and the learner's data dir moved
 * aside, never deleted), then the learner it added (not promoted) is removed; the fence on the old
 * member's host is undone only while etcd still lists that member, since a removed member's old data must
 * never serve again. What cannot be undone is said, and refused: a promoted member is a voter (taking it out
 * changes quorum; that is a decision for a person), and a dead member's removal stays (etcd never takes a
 * removed member back). Every step checks the current state first, so a rollback killed midway is run again.
 */
public final class ReplaceRollback {
    private static final Duration CLAIM = Duration.ofMinutes(2);
    private final AgentChannels agents;
    private final EtcdClients clients;
    private final PrintStream out;

    public ReplaceRollback(AgentChannels agents, EtcdClients clients, PrintStream out) {
        this.agents = agents;
        this.clients = clients;
        this.out = out;
    }

    /** Rolls back the run journaled in {@code journal} ({@code dir}); throws a {@link UserException} naming what is left. */
    public void rollback(ClusterPlan plan, MemberPlan member, MemberPlan to, ReplaceJournal journal, Path dir) throws InterruptedException {
        String resume = "etcd-rescue resume " + dir;
        if (journal.isDone("verified")) {
            throw new UserException(FailureKind.REFUSED, "this run replaced " + member.etcdName() + " and verified the cluster: its new"
                    + " member is a voting member, which rollback does not take out (that changes quorum); nothing was changed."
                    + " To take it out anyway: etcdctl member remove <its id>, then etcd-rescue rollback " + dir + " --yes again");
        }
        boolean moved = !to.hostName().equals(member.hostName());
        ClusterView view = new ClusterLook(agents, clients, Duration.ofSeconds(5)).look(plan);
        List<URI> survivors = new ArrayList<>();
        view.hosts().stream().filter(h -> h.answers() && h.seesLeader() && !h.host().equals(member.hostName())
                && !h.host().equals(to.hostName())).forEach(h -> survivors.add(URI.create(h.clientUrl())));
        EtcdClients etcd = clients.with(plan.etcdAccess());
        List<String> left = new ArrayList<>();
        boolean oldListed;
        try (MembershipCalls cluster = new MembershipCalls(etcd, survivors)) {
            List<Member> list = cluster.list();
            Optional<Member> learner = ours(journal, list, to, moved);
            oldListed = list.stream().filter(m -> learner.map(l -> l.getId() != m.getId()).orElse(true))
                    .anyMatch(m -> m.getName().equals(member.etcdName()) || member.peerUrls().stream().anyMatch(m.getPeerURIs()::contains));
            if (learner.isPresent() && !learner.get().isLearner()) {
                String id = Long.toHexString(learner.get().getId());
                throw new UserException(FailureKind.REFUSED, "member " + id + " (" + to.etcdName() + " on " + to.hostName() + "), added by"
                        + " this run, is already promoted: a voting member is not taken out by rollback (that changes quorum), and its"
                        + " host is left running; nothing was changed. Finish the replacement with '" + resume + "', or take the member"
                        + " out with etcdctl member remove " + id + " and run this rollback again");
            }
            // From here on the run cannot be resumed: resume refuses a run whose rollback began.
            journal.done("rollback-started");
            // In reverse: the new member stopped and its files and data moved aside on the target, then the learner removed
            // (a stopped learner stays listed harmlessly, it does not count in quorum).
            if (!rollbackHost(journal, to, !oldListed, "target")) {
                left.add("the rollback on " + to.hostName() + " (its agent does not answer): run this rollback again once it answers");
            }
            if (learner.isPresent()) {
                String id = Long.toHexString(learner.get().getId());
                cluster.remove(learner.get().getId());
                journal.done("rollback-learner", "id", id);
                say("learner", "member remove " + id + " (the learner this run added, never promoted): done");
            } else {
                say("learner", "no learner of this run is listed: nothing to remove");
            }
        }
        if (moved && journal.isDone("fenced") && !journal.fact("fenced", "agent").orElse("").equals("unreachable")) {
            if (oldListed) {
                if (!rollbackHost(journal, member, false, "fence")) {
                    left.add("undoing the fence on " + member.hostName() + " (its agent does not answer)");
                }
            } else {
                say("fence", "the fence on " + member.hostName() + " stays (" + member.oldUnit() + " stopped and disabled): etcd removed "
                        + member.etcdName() + ", so its old data must never serve again");
            }
        }
        String removed = journal.fact("removed", "id").orElse("");
        if (!removed.isEmpty() && !oldListed) {
            say("removed", "member " + removed + " (" + member.etcdName() + ") stays removed: etcd never takes a removed member back, and"
                    + " it was dead; to bring the cluster back to " + plan.members().size() + " members, run replace-member for it again");
        }
        ClusterView after = new ClusterLook(agents, clients, Duration.ofSeconds(5)).look(plan);
        String state = after.quorum().healthyVoters() + " of " + after.quorum().voters() + " voting members healthy, "
                + after.learners().size() + " learners, leader " + after.leader();
        say("cluster", state);
        if (!after.learners().isEmpty() || !after.quorum().holds()) {
            left.add("the cluster is not back where it was: " + state + " (see etcd-rescue doctor)");
        }
        if (!left.isEmpty()) {
            throw new UserException(FailureKind.PHASE_FAILED, "rollback incomplete: " + String.join("; ", left));
        }
        journal.done("rolled-back");
        say("done", "run " + journal.header().operationId() + " rolled back; nothing was deleted (what was moved aside is named above)");
    }

    /**
     * The member this run added: the id its journal recorded, or, for a run killed between the add and that
     * line, the member listed with the target's peer URL once the old member was removed.
     */
    private static Optional<Member> ours(ReplaceJournal journal, List<Member> list, MemberPlan to, boolean moved) {
        Optional<String> recorded = journal.fact("added", "id").or(() -> journal.fact("stalled", "id"));
        if (recorded.isPresent()) {
            long id = Long.parseUnsignedLong(recorded.get(), 16);
            return list.stream().filter(m -> m.getId() == id).findFirst();
        }
        if (!moved && !journal.isDone("removed")) {
            return Optional.empty(); // the member with this peer URL is still the old one
        }
        return list.stream().filter(m -> to.peerUrls().stream().anyMatch(m.getPeerURIs()::contains)).findFirst();
    }

    /** The agent's Rollback of this operation on {@code host}; false when the agent does not answer. */
    private boolean rollbackHost(ReplaceJournal journal, MemberPlan host, boolean keepFence, String step) {
        OperationHeader header = OperationHeader.newBuilder().setClusterName(journal.header().cluster())
                .setOperationId(journal.header().operationId()).setHostName(host.hostName()).build();
        try (AgentClient agent = agents.connect(host.agentEndpoint())) {
            agent.claim(header, CLAIM);
            try {
                RollbackResult r = agent.rollback(RollbackRequest.newBuilder().setHeader(header).setKeepFence(keepFence).build());
                journal.done("rollback-" + host.hostName());
                if (r.getActionsList().stream().allMatch(a -> a.equals("reloaded systemd"))) {
                    say(step, host.hostName() + ": nothing of this run left to undo");
                }
                r.getActionsList().stream().filter(a -> !a.equals("reloaded systemd")).forEach(a -> say(step, host.hostName() + ": " + a));
                return true;
            } finally {
                try {
                    agent.releaseClaim(header, Duration.ofSeconds(5));
                } catch (RuntimeException e) {
                    // it expires by itself
                }
            }
        } catch (RuntimeException e) {
            if (!AgentError.transport(e) && AgentError.code(e) != io.grpc.Status.Code.DEADLINE_EXCEEDED) {
                throw new UserException(FailureKind.PHASE_FAILED, "rollback on " + host.hostName() + " was refused: "
                        + AgentError.describe(e, host.agentEndpoint().toString()) + "; run this rollback again once that is resolved");
            }
            say(step, host.hostName() + ": its agent does not answer: " + AgentError.describe(e, host.agentEndpoint().toString()));
            return false;
        }
    }

    private void say(String step, String line) {
        out.println("ROLLBACK [" + step + "] " + line);
        out.flush();
    }
}
