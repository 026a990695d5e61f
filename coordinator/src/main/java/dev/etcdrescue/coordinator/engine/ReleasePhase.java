package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.report.HostResult;
import dev.etcdrescue.coordinator.report.Outcome;
import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.coordinator.report.RecoveryReport.Check;
import dev.etcdrescue.coordinator.verify.ClusterVerifier;
import dev.etcdrescue.proto.v1.ConfigureRequest;
import dev.etcdrescue.proto.v1.UnitRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

/**
 * Moves the verified members from the fence to their planned client URLs, as many at once as keep a
 * quorum ({@link ReleaseOrder}), the leader last and only after it has handed its leadership to a
 * member outside its batch; then checks the member list again: clients never see an unverified cluster.
 */
final class ReleasePhase implements Phase {
    /** systemd reports a Type=notify etcd active well under a second after its start: poll finely. */
    private static final Duration POLL = Duration.ofMillis(100);
    private final ClusterVerifier verifier;

    ReleasePhase(ClusterVerifier verifier) {
        this.verifier = verifier;
    }

    @Override
    public PhaseName name() {
        return PhaseName.RELEASE;
    }

    @Override
    public void run(RecoveryRun run) throws Exception {
        if (!run.fenced()) {
            run.recordCluster(name(), Outcome.SKIPPED, "no fence (see preflight's fence line): members served their planned client URLs"
                    + " from the start", Duration.ZERO);
            return;
        }
        Leadership leadership = new Leadership(run.etcd, run.plan);
        Set<String> released = new LinkedHashSet<>();
        Optional<String> leader = leader(run, leadership, released, Set.of());
        for (List<MemberPlan> batch : ReleaseOrder.batches(run.plan.members(), leader)) {
            handOverIfLeading(run, leadership, batch, released);
            Map<MemberPlan, Future<HostResult>> running = new LinkedHashMap<>();
            for (MemberPlan m : batch) {
                running.put(m, run.executor.submit(() -> release(run, m)));
            }
            List<String> failed = new ArrayList<>();
            for (var e : running.entrySet()) {
                HostResult r;
                try {
                    r = e.getValue().get();
                } catch (ExecutionException ex) {
                    r = new HostResult(e.getKey().hostName(), name(), Outcome.FAILED, String.valueOf(ex.getCause()), Duration.ZERO);
                }
                run.record(r);
                if (r.failed()) {
                    failed.add(r.host());
                } else {
                    released.add(r.host());
                }
            }
            if (!failed.isEmpty()) {
                throw new PhaseFailedException(name(), FailureKind.PHASE_FAILED, "release stopped at " + String.join(", ", failed)
                        + "; " + (released.isEmpty() ? "no member" : String.join(", ", released)) + " serve(s) the planned URLs, the rest"
                        + " are still fenced or stopped there");
            }
        }
        List<Check> after = verifier.verify(run.plan, run.restoredRevision(), run.bump, Optional.empty(), run.options.verifyTimeout());
        List<Check> failed = after.stream().filter(c -> !c.ok()).toList();
        run.checks.addAll(after.stream().map(c -> new Check(c.name() + " (released)", c.ok(), c.detail())).toList());
        if (!failed.isEmpty()) {
            throw new PhaseFailedException(name(), FailureKind.VERIFY_FAILED, "after release: "
                    + failed.stream().map(c -> c.name() + ": " + c.detail()).toList());
        }
    }

    /** Switches one member to its planned client URL and waits until it serves there with a leader. */
    private HostResult release(RecoveryRun run, MemberPlan m) {
        long t0 = System.nanoTime();
        var agent = run.agents.get(m.hostName());
        try {
            agent.configure(ConfigureRequest.newBuilder().setHeader(run.header(m)).setMember(MemberSpecs.of(run.plan, m))
                    .setNewUnit(m.newUnit()).setBaseUnit(m.baseUnit()).addAllExtra(MemberSpecs.extras(m, run.snapshot == null ? 0
                            : run.snapshot.size())).build());
            List<UnitActions.Action> actions = run.unitActions(m, name());
            for (UnitActions.Action action : actions) {
                switch (action.verb()) {
                    case STOP -> agent.stop(UnitRequest.newBuilder().setHeader(run.header(m)).setUnit(action.unit()).build());
                    // StartMember reloads systemd itself before it starts the unit (the next action).
                    case DAEMON_RELOAD -> { }
                    case START_AND_WAIT -> startAndWait(run, m, action.unit());
                    default -> throw new IllegalStateException("release does not " + action.command());
                }
            }
            // Health only: the member restarted on the data verify checked; hashkv of its whole keyspace here
            // (a full scan per member) would add nothing that the full verify after the last batch does not check.
            Check healthy = verifier.health(run.plan.withMembers(List.of(m)), run.options.verifyTimeout());
            if (!healthy.ok()) {
                return new HostResult(m.hostName(), name(), Outcome.FAILED, "did not come back on " + m.clientUrls().get(0) + ": "
                        + healthy.detail(), PreflightPhase.since(t0));
            }
            return new HostResult(m.hostName(), name(), Outcome.CHANGED, "now serves clients on " + m.clientUrls().get(0) + " ("
                    + UnitActions.describe(actions) + ")", PreflightPhase.since(t0));
        } catch (PhaseFailedException e) {
            return new HostResult(m.hostName(), name(), Outcome.FAILED, e.getMessage(), PreflightPhase.since(t0));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new HostResult(m.hostName(), name(), Outcome.FAILED, "interrupted", PreflightPhase.since(t0));
        } catch (Exception e) {
            return new HostResult(m.hostName(), name(), Outcome.FAILED, AgentError.describe(e, agent.endpoint().toString()),
                    PreflightPhase.since(t0));
        }
    }

    /** The others keep a quorum, so the member's start job ends once it has rejoined (or failed). */
    private static void startAndWait(RecoveryRun run, MemberPlan m, String unit) throws Exception {
        var started = run.agents.get(m.hostName()).startAndWait(UnitRequest.newBuilder().setHeader(run.header(m)).setUnit(unit).build(),
                run.options.startTimeout());
        try {
            if (!"active".equals(started.get().getActiveState())) {
                waitActive(run, m);
            }
        } finally {
            started.cancel(true);
        }
    }

    /**
     * Best effort: when the leader is about to restart, it first hands leadership to a member outside the
     * batch (a released one if any). Failing that, its restart costs an election, not safety.
     */
    private void handOverIfLeading(RecoveryRun run, Leadership leadership, List<MemberPlan> batch, Set<String> released) {
        Set<String> restarting = batch.stream().map(MemberPlan::hostName).collect(Collectors.toSet());
        try {
            Optional<String> leader = leader(run, leadership, released, restarting);
            if (leader.isEmpty() || !restarting.contains(leader.get())) {
                return;
            }
            List<MemberPlan> others = serving(run, released).members().stream().filter(m -> !restarting.contains(m.hostName()))
                    .sorted(Comparator.comparing(m -> !released.contains(m.hostName()))).toList();
            if (others.isEmpty()) {
                return;
            }
            MemberPlan from = serving(run, released).members().stream().filter(m -> m.hostName().equals(leader.get())).findFirst().orElseThrow();
            leadership.handOver(from, others.get(0));
            run.reporter.note(name(), "[" + leader.get() + "] handed leadership to " + others.get(0).hostName() + " before its restart");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            run.reporter.note(name(), "could not hand leadership over before the restart of " + restarting + " (" + e.getMessage()
                    + "): the cluster elects a new leader instead");
        }
    }

    /** The leader's host as a member outside {@code restarting} sees it, or empty when none answers. */
    private static Optional<String> leader(RecoveryRun run, Leadership leadership, Set<String> released, Set<String> restarting)
            throws InterruptedException {
        ClusterPlan now = serving(run, released);
        for (MemberPlan via : now.members()) {
            if (restarting.contains(via.hostName()) && now.members().size() > restarting.size()) {
                continue;
            }
            try {
                return leadership.leaderHost(now, via);
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                // Ask the next member.
            }
        }
        return Optional.empty();
    }

    /** Every member at the client URL it serves now: planned once released, the fenced one before. */
    private static ClusterPlan serving(RecoveryRun run, Set<String> released) {
        return run.plan.withMembers(run.plan.members().stream().map(m -> released.contains(m.hostName()) ? m : run.running(m)).toList());
    }

    private static void waitActive(RecoveryRun run, MemberPlan m) throws InterruptedException {
        long deadline = System.nanoTime() + run.options.startTimeout().toNanos();
        while (true) {
            var s = run.agents.get(m.hostName()).inspectUnit(m.newUnit());
            if ("active".equals(s.getActiveState())) {
                return;
            }
            if ("failed".equals(s.getActiveState()) || System.nanoTime() > deadline) {
                throw new PhaseFailedException(PhaseName.RELEASE, FailureKind.PHASE_FAILED, m.newUnit() + " on " + m.hostName()
                        + " is " + s.getActiveState() + " after the switch to its planned client URL; see 'journalctl -u "
                        + m.newUnit() + "' there");
            }
            Thread.sleep(POLL.toMillis());
        }
    }
}
