package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.cli.ExitCodes;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.report.RecoveryReport.Check;
import dev.etcdrescue.coordinator.verify.ClusterVerifier;
import dev.etcdrescue.proto.v1.ConfigureRequest;
import dev.etcdrescue.proto.v1.UnitRequest;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Moves the verified members from the fence to their planned client URLs, one member at a time so
 * the quorum holds throughout, then checks the member list again: clients never see an unverified cluster.
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
            run.recordCluster(name(), Outcome.SKIPPED, "no fence (--fence-port 0): members served their planned client URLs from the start", Duration.ZERO);
            return;
        }
        for (MemberPlan m : run.plan.members()) {
            long t0 = System.nanoTime();
            var agent = run.agents.get(m.hostName());
            try {
                agent.configure(ConfigureRequest.newBuilder().setHeader(run.header(m)).setMember(MemberSpecs.of(run.plan, m))
                        .setNewUnit(m.newUnit()).setBaseUnit(m.oldUnit()).addAllExtra(MemberSpecs.extras(m, run.snapshot == null ? 0 : run.snapshot.size())).build());
                agent.stop(UnitRequest.newBuilder().setHeader(run.header(m)).setUnit(m.newUnit()).build());
                agent.start(UnitRequest.newBuilder().setHeader(run.header(m)).setUnit(m.newUnit()).setNoBlock(true).build());
                waitActive(run, m);
            } catch (PhaseFailedException e) {
                throw e;
            } catch (Exception e) {
                run.record(new HostResult(m.hostName(), name(), Outcome.FAILED, AgentErrors.describe(e, agent.endpoint().toString()),
                        PreflightPhase.since(t0)));
                throw new PhaseFailedException(name(), ExitCodes.FAILED, "release stopped at " + m.hostName()
                        + "; the members before it serve their planned URLs, the rest are still fenced");
            }
            // Health only: the member restarted on the data verify checked; hashkv of its whole keyspace here
            // (a full scan per member) would add nothing that the full verify after the loop does not check.
            Check healthy = verifier.health(run.plan.withMembers(List.of(m)), run.options.verifyTimeout());
            if (!healthy.ok()) {
                run.record(new HostResult(m.hostName(), name(), Outcome.FAILED, healthy.detail(), PreflightPhase.since(t0)));
                throw new PhaseFailedException(name(), ExitCodes.FAILED, "member on " + m.hostName()
                        + " did not come back on " + m.clientUrls().get(0) + ": " + healthy.detail());
            }
            run.record(new HostResult(m.hostName(), name(), Outcome.CHANGED, "now serves clients on " + m.clientUrls().get(0),
                    PreflightPhase.since(t0)));
        }
        List<Check> after = verifier.verify(run.plan, run.restoredRevision(), run.bump, Optional.empty(), run.options.verifyTimeout());
        List<Check> failed = after.stream().filter(c -> !c.ok()).toList();
        run.checks.addAll(after.stream().map(c -> new Check(c.name() + " (released)", c.ok(), c.detail())).toList());
        if (!failed.isEmpty()) {
            throw new PhaseFailedException(name(), ExitCodes.VERIFY_FAILED, "after release: "
                    + failed.stream().map(c -> c.name() + ": " + c.detail()).toList());
        }
    }

    private static void waitActive(RecoveryRun run, MemberPlan m) throws InterruptedException {
        long deadline = System.nanoTime() + run.options.startTimeout().toNanos();
        while (true) {
            var s = run.agents.get(m.hostName()).inspectUnit(m.newUnit());
            if ("active".equals(s.getActiveState())) {
                return;
            }
            if ("failed".equals(s.getActiveState()) || System.nanoTime() > deadline) {
                throw new PhaseFailedException(PhaseName.RELEASE, ExitCodes.FAILED, m.newUnit() + " on " + m.hostName()
                        + " is " + s.getActiveState() + " after the switch to its planned client URL; see 'journalctl -u "
                        + m.newUnit() + "' there");
            }
            Thread.sleep(POLL.toMillis());
        }
    }
}
