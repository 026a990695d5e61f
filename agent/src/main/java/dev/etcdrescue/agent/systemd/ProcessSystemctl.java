package dev.etcdrescue.agent.systemd;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.io.Cancellation;
import dev.etcdrescue.agent.io.ProcessResult;
import dev.etcdrescue.agent.io.ProcessRunner;
import dev.etcdrescue.agent.spec.UnitNames;
import dev.etcdrescue.proto.v1.ErrorReason;
import dev.etcdrescue.proto.v1.UnitState;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@link Systemctl} by running the configured systemctl binary, each call with its own timeout. */
public final class ProcessSystemctl implements Systemctl {
    private static final Logger log = LoggerFactory.getLogger(ProcessSystemctl.class);
    private static final String PROPERTIES =
            "ActiveState,SubState,UnitFileState,MainPID,ActiveEnterTimestampMonotonic,LoadState";

    private final Path systemctl;
    private final ProcessRunner runner;
    private final Duration timeout;

    public ProcessSystemctl(Path systemctl, ProcessRunner runner, Duration timeout) {
        this.systemctl = systemctl;
        this.runner = runner;
        this.timeout = timeout;
    }

    @Override
    public void daemonReload() {
        run(List.of("daemon-reload"));
    }

    @Override
    public void startNoBlock(String unit) {
        run(List.of("start", "--no-block", UnitNames.serviceFile(unit, "unit")));
    }

    @Override
    public Optional<String> startAndWait(String unit, Cancellation cancellation) {
        List<String> args = List.of("start", UnitNames.serviceFile(unit, "unit"));
        ProcessResult result = run(args, cancellation);
        return result.succeeded() ? Optional.empty() : Optional.of("systemctl " + String.join(" ", args) + " failed: "
                + result.failureSummary());
    }

    @Override
    public void stop(String unit) {
        run(List.of("stop", UnitNames.serviceFile(unit, "unit")));
    }

    @Override
    public void enable(String unit) {
        run(List.of("enable", UnitNames.serviceFile(unit, "unit")));
    }

    @Override
    public void disable(String unit) {
        run(List.of("disable", UnitNames.serviceFile(unit, "unit")));
    }

    @Override
    public UnitState show(String unit) {
        String name = UnitNames.serviceFile(unit, "unit");
        ProcessResult result = run(List.of("show", "-p", PROPERTIES, name));
        return parseShow(name, result.stdout());
    }

    /** Parses {@code systemctl show -p ...} key=value output. */
    public static UnitState parseShow(String unit, String output) {
        Map<String, String> values = new HashMap<>();
        for (String line : output.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                values.put(line.substring(0, eq).strip(), line.substring(eq + 1).strip());
            }
        }
        return UnitState.newBuilder()
                .setUnit(unit)
                .setExists(!values.getOrDefault("LoadState", "not-found").equals("not-found"))
                .setActiveState(values.getOrDefault("ActiveState", ""))
                .setSubState(values.getOrDefault("SubState", ""))
                .setUnitFileState(values.getOrDefault("UnitFileState", ""))
                .setMainPid(parseLong(values.get("MainPID")))
                .setActiveEnterTimestampUs(parseLong(values.get("ActiveEnterTimestampMonotonic")))
                .build();
    }

    private ProcessResult run(List<String> args) {
        ProcessResult result = run(args, Cancellation.NONE);
        if (!result.succeeded()) {
            throw AgentException.failedPrecondition(ErrorReason.UNIT_FAILED, "systemctl " + String.join(" ", args) + " failed: "
                    + result.failureSummary() + "; see journalctl -u for the unit");
        }
        return result;
    }

    /** Runs systemctl; only a systemctl that cannot be run at all throws here. */
    private ProcessResult run(List<String> args, Cancellation cancellation) {
        List<String> argv = new ArrayList<>();
        argv.add(systemctl.toString());
        argv.addAll(args);
        ProcessResult result;
        try {
            result = runner.run(argv, Map.of(), timeout, cancellation);
        } catch (RuntimeException e) {
            throw AgentException.failedPrecondition("cannot run " + systemctl + ": " + e.getMessage());
        }
        log.info("systemctl {} -> {}", String.join(" ", args), result.timedOut() ? "timed out" : "exit " + result.exitCode());
        return result;
    }

    private static long parseLong(String value) {
        try {
            return value == null || value.isEmpty() ? 0 : Long.parseLong(value);
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
