package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.report.PhaseName;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The systemd actions one host sees during a recovery, in order, each with the phase that takes it.
 * The dry run (plan) prints this list, and recover's start, release and cut-over phases act on it and
 * report it, so what plan shows is what recover does. In a restore in place the old member is stopped
 * (stop-old) before the new one starts, since both would listen on the same ports.
 *
 * <p>What each phase's RPC makes the agent run: StartMember reloads systemd, then starts the unit and
 * waits for its start job (decision 0015); StopMember stops it; CutOver enables the new unit unless it is
 * enabled, stops the old one if it is active and disables it if it is enabled.
 */
public final class UnitActions {
    private UnitActions() {}

    public enum Verb {
        DAEMON_RELOAD("daemon-reload"),
        START_AND_WAIT("start"),
        STOP("stop"),
        ENABLE("enable"),
        DISABLE("disable");

        private final String word;

        Verb(String word) {
            this.word = word;
        }

        public String word() {
            return word;
        }
    }

    /**
     * @param unit the unit acted on; empty for daemon-reload
     * @param condition when the action is taken, empty for always
     */
    public record Action(PhaseName phase, Verb verb, String unit, String condition) {
        /** The systemctl call as an operator would type it (a start waits for its job). */
        public String call() {
            return "systemctl " + verb.word() + (unit.isEmpty() ? "" : " " + unit)
                    + (verb == Verb.START_AND_WAIT ? ", waiting for its start job" : "");
        }

        /** {@link #call()} and when it runs. */
        public String command() {
            return call() + (condition.isEmpty() ? "" : " (" + condition + ")");
        }

        /** {@link #command()} after the phase's name: one line of plan. */
        public String line() {
            return phase.label() + ": " + command();
        }
    }

    /**
     * @param fenced the members serve clients behind the fence until verify passes (Fence.decide), so
     *               release restarts each on its planned client URL
     * @param keepOld --keep-old: no cut-over
     * @param freedPorts the planned ports the old member holds (a restore in place), empty when none
     */
    public static List<Action> of(MemberPlan m, boolean fenced, boolean keepOld, List<String> freedPorts) {
        List<Action> actions = new ArrayList<>();
        if (!freedPorts.isEmpty()) {
            actions.add(new Action(PhaseName.STOP_OLD, Verb.STOP, m.oldUnit(), "it holds " + String.join(", ", freedPorts)
                    + "; after every host is restored and configured"));
        }
        actions.addAll(start(PhaseName.START, m, ""));
        if (fenced) {
            actions.add(new Action(PhaseName.RELEASE, Verb.STOP, m.newUnit(), "after verify, with its env file rewritten to client URL "
                    + m.clientUrls().get(0)));
            actions.addAll(start(PhaseName.RELEASE, m, ""));
        }
        if (!keepOld) {
            actions.add(new Action(PhaseName.CUT_OVER, Verb.ENABLE, m.newUnit(), "unless enabled"));
            actions.add(new Action(PhaseName.CUT_OVER, Verb.STOP, m.oldUnit(), "if active"));
            actions.add(new Action(PhaseName.CUT_OVER, Verb.DISABLE, m.oldUnit(), "if enabled"));
        }
        return List.copyOf(actions);
    }

    /** What StartMember does: reload, then start and wait. */
    private static List<Action> start(PhaseName phase, MemberPlan m, String condition) {
        return List.of(new Action(phase, Verb.DAEMON_RELOAD, "", condition), new Action(phase, Verb.START_AND_WAIT, m.newUnit(), condition));
    }

    /** The actions one phase takes, in order. */
    public static List<Action> in(PhaseName phase, List<Action> actions) {
        return actions.stream().filter(a -> a.phase() == phase).toList();
    }

    /** The actions' calls on one line, for a phase's report (its result says what each found). */
    public static String describe(List<Action> actions) {
        return actions.stream().map(Action::call).collect(Collectors.joining("; "));
    }
}
