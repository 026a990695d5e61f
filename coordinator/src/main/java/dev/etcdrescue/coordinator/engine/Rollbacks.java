package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.report.HostResult;
import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.proto.v1.RollbackRequest;
import dev.etcdrescue.proto.v1.RollbackResult;
import dev.etcdrescue.proto.v1.UnitRequest;
import java.util.List;

/** Undoing a run on every host, from the agents' own journals of what that operation changed. */
final class Rollbacks {
    private Rollbacks() {}

    /** A failed start must not leave members serving: stop the new unit everywhere (best effort, reported per host). */
    static void stopNewMembers(RecoveryRun run) throws InterruptedException {
        try {
            run.forEachHost(PhaseName.ROLLBACK, (m, agent) -> {
                var s = agent.stop(UnitRequest.newBuilder().setHeader(run.header(m)).setUnit(m.newUnit()).build());
                return RecoveryRun.Done.changed("stopped " + m.newUnit() + " (" + s.getActiveState() + ") so no unverified member serves");
            });
        } catch (PhaseFailedException ignored) {
            // Each host's failure is already reported; the caller's failure is the one that counts.
        }
    }

    static List<HostResult> rollbackAll(RecoveryRun run) throws InterruptedException {
        return rollbackAll(run, CoordinatorFailpoints.none());
    }

    static List<HostResult> rollbackAll(RecoveryRun run, CoordinatorFailpoints failpoints) throws InterruptedException {
        return run.forEachHost(PhaseName.ROLLBACK, (m, agent) -> {
            agent.claim(run.header(m), run.options.claimTtl());
            RollbackResult r = agent.rollback(RollbackRequest.newBuilder().setHeader(run.header(m)).build());
            failpoints.hit(CoordinatorFailpoints.ROLLBACK_AFTER_HOST);
            agent.releaseClaim(run.header(m));
            return r.getActionsCount() == 0 ? RecoveryRun.Done.ok("nothing to undo on this host")
                    : RecoveryRun.Done.changed(String.join("; ", r.getActionsList()));
        });
    }

    static String hostsOf(RecoveryRun run) {
        return String.join(", ", run.plan.members().stream().map(MemberPlan::hostName).toList());
    }
}
