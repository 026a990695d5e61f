package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.cli.ExitCodes;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.proto.v1.UnitRequest;
import dev.etcdrescue.proto.v1.UnitState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Starts the new unit on every host without waiting, then waits for all of them: with
 * Type=notify a member is "active" only once a quorum has started, so a blocking start on the
 * first host would wait for the others forever.
 */
final class StartPhase implements Phase {
    /** An InspectUnit round costs a few milliseconds; a coarse poll only adds to the RTO. */
    private static final Duration POLL = Duration.ofMillis(100);

    @Override
    public PhaseName name() {
        return PhaseName.START;
    }

    @Override
    public void run(RecoveryRun run) throws Exception {
        long t0 = System.nanoTime();
        run.forEachHost(name(), (m, agent) -> {
            UnitState s = agent.start(UnitRequest.newBuilder().setHeader(run.header(m)).setUnit(m.newUnit()).setNoBlock(true).build());
            return RecoveryRun.Done.changed("daemon-reload; start --no-block " + m.newUnit() + " (" + s.getActiveState() + ")");
        });
        long deadline = System.nanoTime() + run.options.startTimeout().toNanos();
        Map<String, UnitState> last = new LinkedHashMap<>();
        while (true) {
            List<String> waiting = new ArrayList<>();
            List<String> failed = new ArrayList<>();
            for (MemberPlan m : run.plan.members()) {
                UnitState s = run.agents.get(m.hostName()).inspectUnit(m.newUnit());
                last.put(m.hostName(), s);
                if ("failed".equals(s.getActiveState())) {
                    failed.add(m.hostName() + ": " + m.newUnit() + " failed (" + s.getSubState()
                            + "); see 'journalctl -u " + m.newUnit() + "' on that host");
                } else if (!"active".equals(s.getActiveState())) {
                    waiting.add(m.hostName() + " (" + s.getActiveState() + ")");
                }
            }
            if (!failed.isEmpty()) {
                throw new PhaseFailedException(name(), ExitCodes.FAILED, String.join("\n  ", failed));
            }
            if (waiting.isEmpty()) {
                break;
            }
            if (System.nanoTime() > deadline) {
                throw new PhaseFailedException(name(), ExitCodes.FAILED, "not active after " + run.options.startTimeout().toSeconds()
                        + "s: " + waiting + "; a new member becomes active only when a quorum of members has started: check the others' logs");
            }
            Thread.sleep(POLL.toMillis());
        }
        run.recordCluster(name(), Outcome.OK, "all " + run.plan.members().size() + " members active", PreflightPhase.since(t0));
    }
}
