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
    /**
     * Each InspectUnit runs `systemctl show` on its host. Polled every 100 ms, five hosts ran about
     * 27 of them a second while five members rebuilt their indexes on the same two cores (full bench,
     * start 9.5 s against the manual path's 6.9 s). So the first second is polled finely, for small
     * clusters that are up in one or two seconds, and then at most every 400 ms.
     */
    private static final Duration FIRST_POLL = Duration.ofMillis(100);
    private static final Duration MAX_POLL = Duration.ofMillis(400);

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
            Thread.sleep(pollAfter(Duration.ofNanos(System.nanoTime() - t0)).toMillis());
        }
        run.recordCluster(name(), Outcome.OK, "all " + run.plan.members().size() + " members active", PreflightPhase.since(t0));
    }

    /** 100 ms in the first second, then growing with the wait (a tenth of it), at most 400 ms. */
    static Duration pollAfter(Duration waited) {
        if (waited.compareTo(Duration.ofSeconds(1)) < 0) {
            return FIRST_POLL;
        }
        Duration tenth = waited.dividedBy(10);
        return tenth.compareTo(MAX_POLL) > 0 ? MAX_POLL : tenth.compareTo(FIRST_POLL) < 0 ? FIRST_POLL : tenth;
    }
}
