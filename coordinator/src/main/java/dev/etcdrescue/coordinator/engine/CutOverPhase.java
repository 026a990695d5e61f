package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.report.Outcome;
import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.proto.v1.CutOverRequest;
import dev.etcdrescue.proto.v1.CutOverResult;
import java.util.List;

/**
 * Makes the new member the one that survives a reboot, and silences the old one: a surviving old
 * member would otherwise keep serving stale reads, and a reboot would bring the old cluster back.
 */
final class CutOverPhase implements Phase {
    @Override
    public PhaseName name() {
        return PhaseName.CUT_OVER;
    }

    @Override
    public void run(RecoveryRun run) throws Exception {
        run.forEachHost(name(), (m, agent) -> {
            List<UnitActions.Action> actions = run.unitActions(m, name());
            if (actions.isEmpty()) {
                return new RecoveryRun.Done(Outcome.SKIPPED, "--keep-old: " + m.oldUnit() + " left as it was, " + m.newUnit() + " not enabled");
            }
            CutOverResult r = agent.cutOver(CutOverRequest.newBuilder().setHeader(run.header(m))
                    .setNewUnit(m.newUnit()).setOldUnit(m.oldUnit()).build());
            return RecoveryRun.Done.changed(String.format("%s: %s %s; %s %s/%s (was %s/%s)", UnitActions.describe(actions), m.newUnit(),
                    r.getNewUnit().getUnitFileState(), m.oldUnit(), r.getOldUnit().getActiveState(),
                    r.getOldUnit().getUnitFileState(), r.getOldWasActive() ? "active" : "inactive",
                    r.getOldWasEnabled() ? "enabled" : "disabled"));
        });
    }
}
