package dev.etcdrescue.agent.systemd;

import dev.etcdrescue.agent.io.Cancellation;
import dev.etcdrescue.proto.v1.UnitState;
import java.util.Optional;

/**
 * The systemd operations the agent needs. Unit names are passed bare or with ".service"; the
 * implementation validates them. Each call fails with an AgentException carrying systemctl's message.
 */
public interface Systemctl {
    void daemonReload();

    /** Queues the unit's start job and returns at once ({@code systemctl start --no-block}). */
    void startNoBlock(String unit);

    /**
     * Starts the unit and waits for its start job to end: for a Type=notify unit, until it reports
     * ready or fails. Empty when the job succeeded; otherwise why not, in systemctl's words (the job
     * failed, systemctl refused, or the wait was cut short by its timeout or {@code cancellation}).
     * A wait cut short leaves the job to systemd: the unit goes on starting.
     */
    Optional<String> startAndWait(String unit, Cancellation cancellation);

    void stop(String unit);

    void enable(String unit);

    void disable(String unit);

    UnitState show(String unit);

    static boolean isActive(UnitState state) {
        return state.getActiveState().equals("active") || state.getActiveState().equals("activating")
                || state.getActiveState().equals("reloading");
    }

    static boolean isEnabled(UnitState state) {
        return state.getUnitFileState().startsWith("enabled") || state.getUnitFileState().equals("alias");
    }
}
