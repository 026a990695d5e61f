package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.report.Outcome;
import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.coordinator.verify.ClusterVerifier;
import dev.etcdrescue.proto.v1.UnitRequest;
import dev.etcdrescue.proto.v1.UnitState;
import java.net.URI;
import java.util.List;

/**
 * A restore in place: stops the old members that hold the planned ports, once the snapshot is verified and
 * every host is restored and configured, so the survivor serves until the last moment. Its agent journals
 * the unit as it was, so rollback starts it again on its untouched data dir. The source is asked first for
 * what verify will compare with, since it no longer answers afterwards.
 */
final class StopOldPhase implements Phase {
    private final ClusterVerifier verifier;

    StopOldPhase(ClusterVerifier verifier) {
        this.verifier = verifier;
    }

    @Override
    public PhaseName name() {
        return PhaseName.STOP_OLD;
    }

    @Override
    public void run(RecoveryRun run) throws Exception {
        if (run.freedPorts.isEmpty()) {
            run.recordCluster(name(), Outcome.SKIPPED, "not in place: no planned port is held by an old member", java.time.Duration.ZERO);
            return;
        }
        run.journal.facts(InPlaceFacts.class).applyTo(run);
        recordSource(run);
        if (run.oldStoppedAtMillis == 0) {
            run.oldStoppedAtMillis = run.clock.millis();
        }
        run.journal.record(InPlaceFacts.of(run));
        run.forEachHost(name(), (m, agent) -> {
            List<UnitActions.Action> actions = run.unitActions(m, name());
            if (actions.isEmpty()) {
                return new RecoveryRun.Done(Outcome.SKIPPED, "nothing to stop: no planned port is held by " + m.oldUnit());
            }
            UnitState before = agent.inspectUnit(m.oldUnit());
            UnitState after = agent.stop(UnitRequest.newBuilder().setHeader(run.header(m)).setUnit(m.oldUnit()).build());
            if (!"inactive".equals(after.getActiveState()) && !"failed".equals(after.getActiveState())) {
                return new RecoveryRun.Done(Outcome.FAILED, m.oldUnit() + " is still " + after.getActiveState() + " after systemctl stop:"
                        + " the new member could not bind " + String.join(", ", run.freedPorts.get(m.hostName())));
            }
            return RecoveryRun.Done.changed(UnitActions.describe(actions) + ": " + m.oldUnit() + " " + after.getActiveState()
                    + " (was " + before.getActiveState() + (before.getMainPid() > 0 ? ", pid " + before.getMainPid() : "")
                    + "); freed " + String.join(", ", run.freedPorts.get(m.hostName())) + "; its data dir is untouched");
        });
    }

    /** The source's answers for verify, when the source is one of the old members stopped here. */
    private void recordSource(RecoveryRun run) throws PhaseFailedException {
        if (run.source == null || run.sourceRecord != null || !stops(run, run.source.endpoint())) {
            return;
        }
        try {
            run.sourceRecord = verifier.record(run.source.endpoint(), run.expectedRevision, run.bump > 0);
        } catch (Exception e) {
            throw new PhaseFailedException(name(), FailureKind.PHASE_FAILED, "the source " + run.source.endpoint()
                    + " did not answer before it was to be stopped, so verify would have nothing to compare with: "
                    + AgentError.describe(e, run.source.endpoint().toString()) + ". Nothing was stopped");
        }
    }

    /** Whether {@code endpoint} is served by an old member this phase stops (its address is a host stopped in place). */
    private static boolean stops(RecoveryRun run, URI endpoint) {
        return run.plan.members().stream().map(MemberPlan::hostName)
                .flatMap(h -> run.freedPorts.getOrDefault(h, List.of()).stream())
                .anyMatch(port -> port.substring(0, port.lastIndexOf(':')).equals(endpoint.getHost()));
    }
}
