package dev.etcdrescue.agent.testing;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.io.Cancellation;
import dev.etcdrescue.agent.spec.UnitNames;
import dev.etcdrescue.agent.systemd.Systemctl;
import dev.etcdrescue.proto.v1.UnitState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** An in-memory systemd for agent tests (real systemd is exercised by the system tests). */
public final class FakeSystemctl implements Systemctl {
    private final Map<String, UnitState> units = new ConcurrentHashMap<>();
    private final List<String> calls = new ArrayList<>();

    public FakeSystemctl withUnit(String unit, boolean active, boolean enabled) {
        String name = UnitNames.serviceFile(unit, "unit");
        units.put(name, state(name, active, enabled));
        return this;
    }

    public synchronized List<String> calls() {
        return List.copyOf(calls);
    }

    @Override
    public synchronized void daemonReload() {
        calls.add("daemon-reload");
    }

    @Override
    public synchronized void startNoBlock(String unit) {
        calls.add("start " + unit + " --no-block");
        update(unit, true, null);
    }

    @Override
    public synchronized Optional<String> startAndWait(String unit, Cancellation cancellation) {
        calls.add("start " + unit);
        update(unit, true, null);
        return Optional.empty();
    }

    @Override
    public synchronized void stop(String unit) {
        calls.add("stop " + unit);
        update(unit, false, null);
    }

    @Override
    public synchronized void enable(String unit) {
        calls.add("enable " + unit);
        update(unit, null, true);
    }

    @Override
    public synchronized void disable(String unit) {
        calls.add("disable " + unit);
        update(unit, null, false);
    }

    @Override
    public UnitState show(String unit) {
        String name = UnitNames.serviceFile(unit, "unit");
        return units.getOrDefault(name, UnitState.newBuilder().setUnit(name).setExists(false)
                .setActiveState("inactive").setSubState("dead").build());
    }

    private void update(String unit, Boolean active, Boolean enabled) {
        String name = UnitNames.serviceFile(unit, "unit");
        UnitState current = units.get(name);
        if (current == null) {
            // systemd knows a unit once its file is there and daemon-reload ran; tests declare it lazily.
            current = state(name, false, false);
        }
        if (!current.getExists()) {
            throw AgentException.failedPrecondition("Unit " + name + " not found.");
        }
        boolean isActive = active != null ? active : Systemctl.isActive(current);
        boolean isEnabled = enabled != null ? enabled : Systemctl.isEnabled(current);
        units.put(name, state(name, isActive, isEnabled));
    }

    private static UnitState state(String name, boolean active, boolean enabled) {
        return UnitState.newBuilder().setUnit(name).setExists(true)
                .setActiveState(active ? "active" : "inactive").setSubState(active ? "running" : "dead")
                .setUnitFileState(enabled ? "enabled" : "disabled").setMainPid(active ? 4242 : 0).build();
    }
}
