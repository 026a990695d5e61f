package dev.etcdrescue.agent.systemd;

import dev.etcdrescue.proto.v1.UnitState;

/**
 * The systemd operations the agent needs. Unit names are passed bare or with ".service"; the
 * implementation validates them. Each call fails with an AgentException carrying systemctl's message.
 */
public interface Systemctl {
    void daemonReload();

    void start(String unit, boolean noBlock);

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
