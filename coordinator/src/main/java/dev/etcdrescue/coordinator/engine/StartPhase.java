package dev.etcdrescue.coordinator.engine;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.report.HostResult;
import dev.etcdrescue.coordinator.report.Outcome;
import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.proto.v1.UnitRequest;
import dev.etcdrescue.proto.v1.UnitState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Starts the new unit on every host at once and waits for each start job in its agent. All at once,
 * because with Type=notify a member is ready only once a quorum has started. Waiting on the jobs
 * rather than polling `systemctl show` on every host: the polls cost about 6 CPU-seconds of the full
 * bench's start phase, while five members rebuilt their indexes on the same two cores. The first
 * failed member ends the phase and the other waits (not their jobs).
 */
final class StartPhase implements Phase {
    /**
     * A host whose answer is still "activating" (already starting when asked, or the agent's own wait
     * ended first) is polled: finely in the first second, then at most every 400 ms.
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
        long deadline = t0 + run.options.startTimeout().toNanos();
        Map<MemberPlan, ListenableFuture<UnitState>> calls = new LinkedHashMap<>();
        BlockingQueue<MemberPlan> answered = new LinkedBlockingQueue<>();
        try {
            for (MemberPlan m : run.plan.members()) {
                ListenableFuture<UnitState> call = run.agents.get(m.hostName()).startAndWait(
                        UnitRequest.newBuilder().setHeader(run.header(m)).setUnit(m.newUnit()).build(), run.options.startTimeout());
                call.addListener(() -> answered.add(m), MoreExecutors.directExecutor());
                calls.put(m, call);
            }
            Set<MemberPlan> active = new LinkedHashSet<>();
            Set<MemberPlan> polled = new LinkedHashSet<>();
            while (active.size() < calls.size()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw notActive(run, calls, active);
                }
                long wait = polled.isEmpty() ? left : Math.min(left, pollAfter(Duration.ofNanos(System.nanoTime() - t0)).toNanos());
                MemberPlan m = answered.poll(wait, TimeUnit.NANOSECONDS);
                List<String> failed = new ArrayList<>();
                for (; m != null; m = answered.poll()) {
                    settle(run, m, answer(run, m, calls.get(m), failed), t0, active, polled, failed);
                }
                for (MemberPlan p : List.copyOf(polled)) {
                    settle(run, p, run.agents.get(p.hostName()).inspectUnit(p.newUnit()), t0, active, polled, failed);
                }
                if (!failed.isEmpty()) {
                    throw new PhaseFailedException(name(), FailureKind.PHASE_FAILED, "start failed on " + failed.size() + " of "
                            + calls.size() + " hosts:\n  " + String.join("\n  ", failed));
                }
            }
        } finally {
            // Ends the agents' waits that are still open; their start jobs go on in systemd.
            calls.values().forEach(call -> call.cancel(true));
        }
        run.recordCluster(name(), Outcome.OK, "all " + calls.size() + " members active", PreflightPhase.since(t0));
    }

    /** The agent's answer, or null after recording the host as failed when the call itself failed. */
    private UnitState answer(RecoveryRun run, MemberPlan m, ListenableFuture<UnitState> call, List<String> failed)
            throws InterruptedException {
        try {
            return call.get();
        } catch (ExecutionException e) {
            AgentClient agent = run.agents.get(m.hostName());
            String why = "StartMember " + m.newUnit() + ": " + AgentError.describe(e.getCause(), agent.endpoint().toString());
            failed.add(m.hostName() + ": " + why);
            run.record(new HostResult(m.hostName(), name(), Outcome.FAILED, why, Duration.ZERO));
            return null;
        }
    }

    private void settle(RecoveryRun run, MemberPlan m, UnitState s, long t0, Set<MemberPlan> active, Set<MemberPlan> polled,
                        List<String> failed) {
        if (s == null) {
            return;
        }
        Duration took = PreflightPhase.since(t0);
        if ("active".equals(s.getActiveState())) {
            polled.remove(m);
            active.add(m);
            run.record(new HostResult(m.hostName(), name(), Outcome.CHANGED, UnitActions.describe(run.unitActions(m, name()))
                    + ": active after " + seconds(took), took));
        } else if ("failed".equals(s.getActiveState())) {
            polled.remove(m);
            String why = m.newUnit() + " failed (" + s.getSubState() + "); see 'journalctl -u " + m.newUnit() + "' on that host";
            failed.add(m.hostName() + ": " + why);
            run.record(new HostResult(m.hostName(), name(), Outcome.FAILED, why, took));
        } else {
            polled.add(m);
        }
    }

    private PhaseFailedException notActive(RecoveryRun run, Map<MemberPlan, ListenableFuture<UnitState>> calls,
                                           Set<MemberPlan> active) {
        List<String> waiting = new ArrayList<>();
        for (MemberPlan m : calls.keySet()) {
            if (!active.contains(m)) {
                String state;
                try {
                    state = run.agents.get(m.hostName()).inspectUnit(m.newUnit()).getActiveState();
                } catch (RuntimeException e) {
                    state = "state unknown: " + e.getMessage();
                }
                waiting.add(m.hostName() + " (" + state + ")");
            }
        }
        return new PhaseFailedException(name(), FailureKind.PHASE_FAILED, "not active after " + run.options.startTimeout().toSeconds()
                + "s: " + waiting + "; a new member becomes active only when a quorum of members has started: check the others' logs");
    }

    private static String seconds(Duration d) {
        return String.format(java.util.Locale.ROOT, "%.1fs", d.toMillis() / 1000.0);
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
