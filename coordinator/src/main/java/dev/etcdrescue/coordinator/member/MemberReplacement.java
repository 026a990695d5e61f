package dev.etcdrescue.coordinator.member;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.engine.CoordinatorFailpoints;
import dev.etcdrescue.coordinator.engine.MemberSpecs;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.report.RecoveryReport.Check;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.coordinator.snapshot.SnapshotTaker;
import dev.etcdrescue.coordinator.snapshot.SourceMember;
import dev.etcdrescue.coordinator.verify.ClusterVerifier;
import dev.etcdrescue.proto.v1.ConfigureRequest;
import dev.etcdrescue.proto.v1.ConfigureResult;
import dev.etcdrescue.proto.v1.CutOverRequest;
import dev.etcdrescue.proto.v1.Member;
import dev.etcdrescue.proto.v1.MemberSpec;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.PreflightReport;
import dev.etcdrescue.proto.v1.PreflightRequest;
import dev.etcdrescue.proto.v1.Severity;
import dev.etcdrescue.proto.v1.UnitRequest;
import dev.etcdrescue.proto.v1.UnitState;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Replaces one dead member of a cluster that still has quorum, without a restore: checks, a snapshot into
 * the run dir, member remove, the old member fenced, member add as a learner, the target host configured
 * with {@code initial-cluster-state=existing} and started, the learner followed until it is promoted, then
 * verify. Each step is journaled ({@link ReplaceJournal}) and done once: a resumed run skips what is done.
 * Remove comes before add (etcd's FAQ; before 3.5.30 and 3.6.11 etcd refuses even a learner while a dead
 * member is listed), and the member joins as a learner, which never counts in quorum (decision 0025).
 */
public final class MemberReplacement {
    /** Codes of the agent's Preflight that do not concern a member joining a running cluster (no restore here). */
    private static final Set<String> NOT_FOR_A_JOIN = Set.of("restore-tool-missing", "restore-tool-cannot-restore", "low-disk-staging",
            "unit-exists-differs", "unit-exists", "unit-exists-same", "data-dir-exists", "env-file-exists");
    private static final Duration POLL = Duration.ofSeconds(1);
    private static final Duration PROMOTE_EVERY = Duration.ofSeconds(2);
    private final AgentChannels agents;
    private final EtcdClients clients;
    private final PrintStream out;
    private final CoordinatorFailpoints failpoints;

    /**
     * @param stallTimeout how long the learner may make no progress before it is removed again; null: scaled by the db size
     * @param claimTtl how long the target agent's claim lasts between renewals
     */
    /**
     * @param removeAlso other dead members this command replaces after this one: removed too before the add, since etcd before
     *                   3.5.30 and 3.6.11 refuses a learner while a member it cannot reach is listed ("unhealthy cluster")
     */
    public record Options(Path workDir, Duration stallTimeout, Duration claimTtl, Duration verifyTimeout, List<MemberPlan> removeAlso) {
        public Options(Path workDir, Duration stallTimeout, Duration claimTtl, Duration verifyTimeout) {
            this(workDir, stallTimeout, claimTtl, verifyTimeout, List.of());
        }
    }

    /** The checks and what they were computed from. */
    public record Checked(ClusterView view, List<Check> checks) {
        public boolean ok() {
            return checks.stream().allMatch(Check::ok);
        }
    }

    public MemberReplacement(AgentChannels agents, EtcdClients clients, PrintStream out) {
        this(agents, clients, out, CoordinatorFailpoints.none());
    }

    public MemberReplacement(AgentChannels agents, EtcdClients clients, PrintStream out, CoordinatorFailpoints failpoints) {
        this.agents = agents;
        this.clients = clients;
        this.out = out;
        this.failpoints = failpoints;
    }

    /** The member of {@code plan} named {@code name} (its etcd name or its host's name). */
    public static MemberPlan member(ClusterPlan plan, String name) {
        return plan.members().stream().filter(m -> m.etcdName().equals(name) || m.hostName().equals(name)).findFirst()
                .orElseThrow(() -> new UserException(FailureKind.BAD_INPUT, "--member " + name + ": no member or host of that name in cluster "
                        + plan.name() + " (members: " + plan.members().stream().map(MemberPlan::etcdName).toList() + ")"));
    }

    /**
     * The host {@code --to} names: another host of the cluster's group, not the member's own. The new member is
     * that host's inventory member (its etcd name, URLs, data dir and units), so etcd and the inventory agree
     * once the dead host leaves the inventory.
     */
    public static MemberPlan target(ClusterPlan plan, MemberPlan member, String to) {
        MemberPlan t = plan.members().stream().filter(m -> m.hostName().equals(to) || m.etcdName().equals(to)).findFirst()
                .orElseThrow(() -> new UserException(FailureKind.BAD_INPUT, "--to " + to + ": no host of that name in cluster " + plan.name()
                        + "'s group (hosts: " + plan.members().stream().map(MemberPlan::hostName).toList()
                        + "); add the new host to the group first"));
        if (t.hostName().equals(member.hostName())) {
            throw new UserException(FailureKind.BAD_INPUT, "--to " + to + " is " + member.etcdName() + "'s own host: leave --to out to"
                    + " replace it on the same host");
        }
        return t;
    }

    /** Every check before a change; changes nothing. {@code ownLearnerId}: the learner an interrupted run of this replacement added. */
    public Checked check(ClusterPlan plan, MemberPlan member, Optional<String> ownLearnerId) {
        return check(plan, member, member, ownLearnerId);
    }

    /** As {@link #check(ClusterPlan, MemberPlan, Optional)}, the replacement on host {@code to} (the member's own, or --to's). */
    public Checked check(ClusterPlan plan, MemberPlan member, MemberPlan to, Optional<String> ownLearnerId) {
        ClusterView view = new ClusterLook(agents, clients, Duration.ofSeconds(5)).look(plan);
        boolean own = ownLearnerId.isPresent() && view.members().stream().anyMatch(m -> m.id().equals(ownLearnerId.get()));
        ReplaceChecks.Target target = target(plan, to, view);
        return new Checked(view, ReplaceChecks.check(view, member, to, peerAnswers(member.peerUrls().get(0)), target, own));
    }

    /** Runs (or resumes) the replacement journaled in {@code journal}; throws a {@link UserException} naming the step that failed. */
    public List<Check> replace(ClusterPlan plan, MemberPlan member, ReplaceJournal journal, Options options) throws InterruptedException {
        return replace(plan, member, member, journal, options);
    }

    /**
     * Runs (or resumes) the replacement of {@code member} by a new member on host {@code to}: the member's own host,
     * or another host of the group ({@code --to}), whose agent then configures and starts the new member while the
     * dead host's agent, where it answers, only fences the old one.
     */
    public List<Check> replace(ClusterPlan plan, MemberPlan member, MemberPlan to, ReplaceJournal journal, Options options)
            throws InterruptedException {
        boolean moved = !to.hostName().equals(member.hostName());
        if (journal.isDone("verified")) {
            say("done", "this run already replaced " + member.etcdName() + " and verified the cluster; nothing to do");
            return List.of();
        }
        if (journal.isDone("rollback-started")) {
            throw new UserException(FailureKind.BAD_INPUT, "this run was rolled back" + (journal.isDone("rolled-back") ? "" : " (in part:"
                    + " finish that with etcd-rescue rollback RUN_DIR --yes)") + ": start a new replace-member to replace "
                    + member.etcdName());
        }
        if (journal.isDone("stalled")) {
            throw new UserException(FailureKind.BAD_INPUT, "this run ended with its learner removed again (it did not catch up):"
                    + " start a new replace-member once the cause is fixed");
        }
        Optional<String> ownLearner = journal.fact("added", "id");
        Checked checked = check(plan, member, to, ownLearner);
        boolean resumedPastFence = journal.isDone("fenced");
        List<Check> failed = checked.checks().stream().filter(c -> !c.ok())
                // Once fenced and added, the target runs this run's own learner: no longer "dead", and that is fine.
                .filter(c -> !(resumedPastFence && c.name().equals("member really dead")))
                .toList();
        checked.checks().forEach(c -> say("preflight", (c.ok() ? "ok   " : "FAIL ") + c.name() + ": " + c.detail()));
        if (!failed.isEmpty()) {
            throw new UserException(FailureKind.REFUSED, "replace-member refused, nothing changed: " + failed.get(0).name() + ": "
                    + failed.get(0).detail());
        }
        EtcdClients etcd = clients.with(plan.etcdAccess());
        OperationHeader header = OperationHeader.newBuilder().setClusterName(plan.name()).setOperationId(journal.header().operationId())
                .setHostName(to.hostName()).build();
        long started = System.nanoTime();
        ScheduledExecutorService renewer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "claim-renewer");
            t.setDaemon(true);
            return t;
        });
        try (AgentClient agent = agents.connect(to.agentEndpoint());
             MembershipCalls cluster = new MembershipCalls(etcd, survivors(plan, member, to, checked.view()))) {
            agent.claim(header, options.claimTtl());
            long every = Math.max(1000, options.claimTtl().toMillis() / 3);
            renewer.scheduleAtFixedRate(() -> renew(agent, header, options.claimTtl()), every, every, TimeUnit.MILLISECONDS);
            snapshot(journal, checked.view(), etcd, options.workDir());
            remove(journal, cluster, member, ownLearner);
            for (MemberPlan other : options.removeAlso()) {
                removeAlso(cluster, other);
            }
            if (moved) {
                fenceElsewhere(journal, header, member, options);
            } else {
                fence(journal, agent, header, member, true);
            }
            long learnerId = add(journal, cluster, to);
            configure(journal, agent, header, plan, to, cluster, learnerId);
            catchUp(journal, agent, header, plan, to, cluster, learnerId, checked.view(), options);
            cutOver(journal, agent, header, to);
            ClusterPlan after = moved ? plan.withMembers(plan.members().stream().filter(m -> !m.equals(member) && (m.equals(to)
                    || checked.view().members().stream().anyMatch(e -> e.name().equals(m.etcdName()))
                    || ReplaceChecks.listed(checked.view(), m).isPresent())).toList()) : plan;
            if (!options.removeAlso().isEmpty()) {
                // The others removed with this one are replaced next: the cluster is verified without them until then.
                after = after.withMembers(after.members().stream().filter(m -> !options.removeAlso().contains(m)).toList());
            }
            List<Check> verify = new ClusterVerifier(etcd).verifyServing(after, options.verifyTimeout());
            verify.forEach(c -> say("verify", (c.ok() ? "ok   " : "FAIL ") + c.name() + ": " + c.detail()));
            Optional<Check> bad = verify.stream().filter(c -> !c.ok()).findFirst();
            if (bad.isPresent()) {
                throw new UserException(FailureKind.VERIFY_FAILED, "member " + member.etcdName() + " was added and promoted, but verify failed: "
                        + bad.get().name() + ": " + bad.get().detail());
            }
            journal.done("verified");
            releaseQuietly(agent, header);
            if (moved) {
                say("done", "member " + member.etcdName() + " (" + member.hostName() + ") replaced by " + to.etcdName() + " on "
                        + to.hostName() + " in " + Duration.ofNanos(System.nanoTime() - started).toSeconds() + "s; clients use "
                        + to.clientUrls().get(0) + " instead of " + member.clientUrls().get(0));
                say("inventory", "update the inventory: " + member.hostName() + " is no longer a member of " + plan.name()
                        + ". In group " + plan.name() + "'s hosts, delete these lines:");
                say("inventory", "  " + member.hostName() + ":");
                say("inventory", "    address: " + member.address());
                say("inventory", "(and any other line under " + member.hostName() + "); keep " + to.hostName() + ". Until then doctor"
                        + " finds " + member.etcdName() + " missing from the member list and proposes replace-member for it");
            } else {
                say("done", "member " + member.etcdName() + " replaced on " + member.hostName() + " in "
                        + Duration.ofNanos(System.nanoTime() - started).toSeconds() + "s; clients keep the same URLs ("
                        + member.clientUrls().get(0) + ")");
            }
            return verify;
        } finally {
            renewer.shutdownNow();
        }
    }

    private void snapshot(ReplaceJournal journal, ClusterView view, EtcdClients etcd, Path workDir) {
        if (journal.isDone("snapshot")) {
            return;
        }
        List<URI> healthy = view.hosts().stream().filter(h -> h.answers() && h.seesLeader()).map(h -> URI.create(h.clientUrl())).toList();
        SnapshotTaker taker = new SnapshotTaker(etcd, Duration.ofSeconds(5));
        SourceMember source = taker.probe(healthy).best().orElseThrow(() -> new UserException(FailureKind.PHASE_FAILED,
                "no healthy member answered for the snapshot taken before any change"));
        Path file = workDir.resolve("before-replace.db");
        try {
            SnapshotFile snap = taker.take(source, file, Duration.ofMinutes(10));
            journal.done("snapshot", "file", file.toString(), "revision", Long.toString(source.revision()));
            say("snapshot", "saved " + snap.size() + " bytes at revision " + source.revision() + " from " + source.endpoint() + " to " + file);
        } catch (IOException e) {
            throw new UserException(FailureKind.PHASE_FAILED, "the snapshot before any change failed: " + e.getMessage());
        }
    }

    private void remove(ReplaceJournal journal, MembershipCalls cluster, MemberPlan member, Optional<String> ownLearner)
            throws InterruptedException {
        if (journal.isDone("removed")) {
            return;
        }
        Optional<io.etcd.jetcd.cluster.Member> old = cluster.list().stream()
                .filter(m -> ownLearner.map(id -> !Long.toHexString(m.getId()).equals(id)).orElse(true))
                .filter(m -> m.getName().equals(member.etcdName()) || member.peerUrls().stream().anyMatch(m.getPeerURIs()::contains))
                .findFirst();
        if (old.isEmpty()) {
            journal.done("removed", "id", "");
            say("remove", member.etcdName() + " is not in the member list: nothing to remove");
            return;
        }
        cluster.remove(old.get().getId());
        journal.done("removed", "id", Long.toHexString(old.get().getId()));
        say("remove", "member remove " + Long.toHexString(old.get().getId()) + " (" + member.etcdName() + "): done");
    }

    /** Another dead member the same command replaces next, removed now (its own run finds it gone and skips the removal). */
    private void removeAlso(MembershipCalls cluster, MemberPlan other) throws InterruptedException {
        Optional<io.etcd.jetcd.cluster.Member> listed = cluster.list().stream()
                .filter(m -> m.getName().equals(other.etcdName()) || other.peerUrls().stream().anyMatch(m.getPeerURIs()::contains))
                .findFirst();
        if (listed.isPresent()) {
            cluster.remove(listed.get().getId());
            say("remove", "member remove " + Long.toHexString(listed.get().getId()) + " (" + other.etcdName() + "): also down and replaced"
                    + " next; done now, since etcd before 3.5.30 and 3.6.11 adds no learner while a member it cannot reach is listed");
        }
    }

    private void fence(ReplaceJournal journal, AgentClient agent, OperationHeader header, MemberPlan member, boolean sameHost) {
        if (journal.isDone("fenced")) {
            return;
        }
        List<String> did = new ArrayList<>();
        for (String unit : new LinkedHashSet<>(List.of(member.oldUnit(), member.newUnit()))) {
            UnitState u = agent.inspectUnit(unit);
            if (u.getExists() && (!u.getActiveState().equals("inactive") && !u.getActiveState().equals("failed")
                    || u.getUnitFileState().equals("enabled"))) {
                UnitState after = agent.stop(UnitRequest.newBuilder().setHeader(header).setUnit(unit).setDisable(true).build());
                did.add(unit + " " + after.getActiveState() + "/" + after.getUnitFileState());
            } else {
                did.add(unit + (u.getExists() ? " already " + u.getActiveState() + "/" + u.getUnitFileState() : " absent"));
            }
        }
        journal.done("fenced");
        say("fence", "old member on " + member.hostName() + ": " + String.join(", ", did) + "; its data dir " + member.dataDir()
                + (sameHost ? " is moved aside when the new member is configured" : " stays where it is (the new member runs on another host)"));
    }

    /**
     * The dead member's host is not the target: its agent, where it answers, stops and disables its units under a
     * claim of its own; an agent that does not answer is reported, and the removed member can never rejoin anyway
     * (etcd refuses a removed member's id). Its data dir stays where it is: nothing is configured on that host.
     */
    private void fenceElsewhere(ReplaceJournal journal, OperationHeader header, MemberPlan member, Options options) {
        if (journal.isDone("fenced")) {
            return;
        }
        OperationHeader own = header.toBuilder().setHostName(member.hostName()).build();
        try (AgentClient old = agents.connect(member.agentEndpoint())) {
            old.claim(own, options.claimTtl());
            try {
                fence(journal, old, own, member, false);
            } finally {
                releaseQuietly(old, own);
            }
        } catch (UserException e) {
            throw e;
        } catch (RuntimeException e) {
            String why = AgentError.describe(e, member.agentEndpoint().toString());
            if (!AgentError.transport(e) && AgentError.code(e) != io.grpc.Status.Code.DEADLINE_EXCEEDED) {
                // It answers and refuses (another operation's claim, say): a fence skipped here could be forgotten.
                throw new UserException(FailureKind.PHASE_FAILED, "fencing the old member on " + member.hostName() + " was refused: " + why
                        + "; " + member.etcdName() + " is already removed from the cluster: resume the run once that is resolved");
            }
            journal.done("fenced", "agent", "unreachable");
            say("fence", "old member on " + member.hostName() + " not fenced, its agent does not answer: " + why + "; it is removed from"
                    + " the cluster, so etcd refuses it if it comes back: stop and disable " + member.oldUnit() + " there when the host returns");
        }
    }

    private long add(ReplaceJournal journal, MembershipCalls cluster, MemberPlan member) throws InterruptedException {
        Optional<String> recorded = journal.fact("added", "id");
        if (recorded.isPresent()) {
            return Long.parseUnsignedLong(recorded.get(), 16);
        }
        // A member with this peer URL already listed is this replacement's own (a run killed between the add and
        // its journal line): it is taken over, never added twice.
        Optional<io.etcd.jetcd.cluster.Member> existing = cluster.list().stream()
                .filter(m -> member.peerUrls().stream().anyMatch(m.getPeerURIs()::contains)).findFirst();
        long id = existing.isPresent() ? existing.get().getId() : cluster.addLearner(member.peerUrls());
        journal.done("added", "id", Long.toHexString(id));
        say("add", (existing.isPresent() ? "learner already listed, taken over: " : "member add --learner: ") + Long.toHexString(id)
                + " " + member.peerUrls());
        return id;
    }

    private void configure(ReplaceJournal journal, AgentClient agent, OperationHeader header, ClusterPlan plan, MemberPlan member,
                           MembershipCalls cluster, long learnerId) throws InterruptedException {
        if (journal.isDone("configured")) {
            return;
        }
        MemberSpec.Builder spec = MemberSpecs.of(plan, member).toBuilder().clearInitialCluster();
        for (io.etcd.jetcd.cluster.Member m : cluster.list()) {
            String name = m.getId() == learnerId ? member.etcdName() : m.getName();
            if (name.isEmpty()) {
                continue;
            }
            spec.addInitialCluster(Member.newBuilder().setName(name).addAllPeerUrls(m.getPeerURIs().stream().map(URI::toString).toList()));
        }
        ConfigureResult r;
        try {
            r = agent.configure(ConfigureRequest.newBuilder().setHeader(header).setMember(spec).setNewUnit(member.newUnit())
                    .setBaseUnit(member.baseUnit()).addAllExtra(MemberSpecs.extras(member)).setJoinExisting(true).build());
        } catch (RuntimeException e) {
            throw new UserException(FailureKind.PHASE_FAILED, "configure on " + member.hostName() + " failed: "
                    + AgentError.describe(e, member.agentEndpoint().toString()) + stillLearner(learnerId));
        }
        List<String> moved = r.getMovedAsideList().stream().map(m -> m.getOriginal() + " -> " + m.getMovedTo()).toList();
        journal.done("configured", "movedAside", String.join(", ", moved));
        say("configure", "wrote " + r.getEnvFile() + " (initial-cluster-state existing, " + spec.getInitialClusterCount()
                + " members) and " + r.getUnitFile() + (moved.isEmpty() ? "" : "; moved aside: " + String.join(", ", moved)));
    }

    private void catchUp(ReplaceJournal journal, AgentClient agent, OperationHeader header, ClusterPlan plan, MemberPlan member,
                         MembershipCalls cluster, long learnerId, ClusterView view, Options options) throws InterruptedException {
        if (journal.isDone("promoted")) {
            return;
        }
        Duration stall = options.stallTimeout() != null ? options.stallTimeout() : scaledStall(view.dbSize());
        var start = agent.startAndWait(UnitRequest.newBuilder().setHeader(header).setUnit(member.newUnit()).build(),
                stall.plus(Duration.ofMinutes(2)));
        say("start", "systemctl start " + member.newUnit() + " on " + member.hostName() + "; a learner that makes no progress for "
                + stall.toSeconds() + "s is removed again");
        LearnerProgress progress = new LearnerProgress(etcdOf(cluster), member.clientUrls().get(0), cluster.urls());
        long lastProgressAt = System.nanoTime();
        long lastPromote = 0;
        long lastSaid = 0;
        long best = -1;
        while (true) {
            LearnerProgress.Sample s = progress.sample();
            if (s.learnerIndex() > best) {
                best = s.learnerIndex();
                lastProgressAt = System.nanoTime();
            }
            if (System.nanoTime() - lastSaid > PROMOTE_EVERY.toNanos()) {
                say("catch-up", s.describe(member.etcdName()));
                lastSaid = System.nanoTime();
            }
            if (System.nanoTime() - lastPromote > PROMOTE_EVERY.toNanos() && s.learnerIndex() > 0) {
                lastPromote = System.nanoTime();
                failpoints.hit(CoordinatorFailpoints.REPLACE_BEFORE_PROMOTE);
                if (cluster.promote(learnerId)) {
                    break;
                }
            }
            if (System.nanoTime() - lastProgressAt > stall.toNanos()) {
                start.cancel(true);
                giveUp(journal, agent, header, plan, member, cluster, learnerId, stall, s);
            }
            Thread.sleep(POLL.toMillis());
        }
        journal.done("promoted");
        say("promote", "member promote " + Long.toHexString(learnerId) + ": " + member.etcdName() + " is a voting member");
        // The agent's start job ends once etcd told systemd it is ready; the cut-over comes after it.
        try {
            UnitState unit = start.get(Duration.ofMinutes(2).toMillis(), TimeUnit.MILLISECONDS);
            say("start", member.newUnit() + " on " + member.hostName() + ": " + unit.getActiveState() + " (" + unit.getSubState() + ")");
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new UserException(FailureKind.PHASE_FAILED, "member " + member.etcdName() + " was promoted, but the start of "
                    + member.newUnit() + " on " + member.hostName() + " did not end: " + AgentError.describe(
                            e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e, member.agentEndpoint().toString())
                    + "; resume the run once it runs");
        }
    }

    /** The learner made no progress: removed again (a learner never counts in quorum), its unit stopped; the cluster is as it was. */
    private void giveUp(ReplaceJournal journal, AgentClient agent, OperationHeader header, ClusterPlan plan, MemberPlan member,
                        MembershipCalls cluster, long learnerId, Duration stall, LearnerProgress.Sample last) throws InterruptedException {
        say("stalled", "learner " + member.etcdName() + " made no progress for " + stall.toSeconds() + "s (" + last.describe(member.etcdName())
                + "): removing it again");
        cluster.remove(learnerId);
        try {
            agent.stop(UnitRequest.newBuilder().setHeader(header).setUnit(member.newUnit()).setDisable(true).build());
        } catch (RuntimeException e) {
            say("stalled", "could not stop " + member.newUnit() + " on " + member.hostName() + ": "
                    + AgentError.describe(e, member.agentEndpoint().toString()));
        }
        journal.done("stalled", "id", Long.toHexString(learnerId));
        // The run is over (a new replace-member starts afresh): its claim would only hold the next run off the host.
        releaseQuietly(agent, header);
        ClusterView after = new ClusterLook(agents, clients, Duration.ofSeconds(5)).look(plan);
        String state = after.quorum().healthyVoters() + " of " + after.quorum().voters() + " members healthy, leader " + after.leader();
        throw new UserException(FailureKind.PHASE_FAILED, "learner " + member.etcdName() + " did not catch up within " + stall.toSeconds()
                + "s and was removed again; the cluster is back where it was before the add: " + state
                + ". See journalctl -u " + member.newUnit() + " on " + member.hostName());
    }

    private void cutOver(ReplaceJournal journal, AgentClient agent, OperationHeader header, MemberPlan member) {
        if (journal.isDone("cut-over") || member.newUnit().equals(member.oldUnit())) {
            return;
        }
        var r = agent.cutOver(CutOverRequest.newBuilder().setHeader(header).setNewUnit(member.newUnit()).setOldUnit(member.oldUnit()).build());
        journal.done("cut-over");
        say("cut-over", member.newUnit() + " " + r.getNewUnit().getActiveState() + "/" + r.getNewUnit().getUnitFileState() + ", "
                + member.oldUnit() + " " + r.getOldUnit().getActiveState() + "/" + r.getOldUnit().getUnitFileState());
    }

    /** 60 s, plus a second for every 4 MiB the learner must fetch: the leader's snapshot send is the slow part. */
    static Duration scaledStall(long dbSize) {
        return Duration.ofSeconds(60 + dbSize / (4L << 20));
    }

    private static EtcdClients etcdOf(MembershipCalls cluster) {
        return cluster.clients();
    }

    private ReplaceChecks.Target target(ClusterPlan plan, MemberPlan member, ClusterView view) {
        try (AgentClient agent = agents.connect(member.agentEndpoint())) {
            String etcdVersion = agent.status().getEtcdVersion();
            PreflightReport report = agent.preflight(PreflightRequest.newBuilder()
                    .setHeader(OperationHeader.newBuilder().setClusterName(plan.name()).setOperationId("replace-check")
                            .setHostName(member.hostName()))
                    .setMember(MemberSpecs.of(plan, member)).setSnapshotSize(view.dbSize()).setNewUnit(member.newUnit())
                    .setBaseUnit(member.baseUnit()).addAllExtra(MemberSpecs.extras(member)).build());
            List<String> errors = report.getFindingsList().stream()
                    .filter(f -> f.getSeverity() == Severity.ERROR && !NOT_FOR_A_JOIN.contains(f.getCode()))
                    // The dead member's own ports are free; a port held by its still-running unit shows in "member really dead".
                    .map(f -> f.getCode() + " on " + member.hostName() + ": " + f.getMessage()).toList();
            return new ReplaceChecks.Target(true, null, etcdVersion, report.getFreeBytesDataDir(), errors);
        } catch (RuntimeException e) {
            return new ReplaceChecks.Target(false, AgentError.describe(e, member.agentEndpoint().toString()), null, 0, List.of());
        }
    }

    private static List<URI> survivors(ClusterPlan plan, MemberPlan member, MemberPlan to, ClusterView view) {
        List<URI> urls = new ArrayList<>();
        view.hosts().stream().filter(h -> h.answers() && h.seesLeader() && !h.host().equals(member.hostName()) && !h.host().equals(to.hostName()))
                .forEach(h -> urls.add(URI.create(h.clientUrl())));
        return urls;
    }

    private static boolean peerAnswers(URI peer) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(peer.getHost(), peer.getPort()), 2000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void renew(AgentClient agent, OperationHeader header, Duration ttl) {
        try {
            agent.renewClaim(header, ttl);
        } catch (RuntimeException e) {
            // the next renewal tries again; a lost claim makes the next mutation fail with the agent's reason
        }
    }

    private static void releaseQuietly(AgentClient agent, OperationHeader header) {
        try {
            agent.releaseClaim(header, Duration.ofSeconds(5));
        } catch (RuntimeException e) {
            // it expires by itself
        }
    }

    private static String stillLearner(long learnerId) {
        return "; learner " + Long.toHexString(learnerId) + " stays listed (it does not count in quorum): resume the run once the cause is"
                + " fixed, or remove it with etcdctl member remove " + Long.toHexString(learnerId);
    }

    private void say(String step, String line) {
        out.println("REPLACE [" + step + "] " + line);
        out.flush();
    }
}
