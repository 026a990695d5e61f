package dev.etcdrescue.agent.oldmember;

import dev.etcdrescue.proto.v1.Finding;
import dev.etcdrescue.proto.v1.Severity;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The old member's effective configuration, as systemd and etcd build it from the base unit: its
 * drop-ins, {@code Environment=} and {@code EnvironmentFile=}, the {@code ExecStart=} argv, and etcd's
 * own precedence (a config file over everything, flags over variables). Every setting knows its source.
 *
 * @param settings  the {@code ETCD_*} settings etcd runs with, in the order they were read
 * @param envFiles  the env files read
 * @param launch    how ExecStart runs etcd; empty when that could not be read (then a finding says why)
 * @param findings  what stands in the way (ERROR: refused before any host changes) or is worth knowing
 */
public record OldMember(BaseUnit unit, Kind kind, Map<String, Setting> settings, List<Path> envFiles,
                        Optional<Path> configFile, Optional<Launch> launch, List<Finding> findings) {
    /** Where the settings live, which decides nothing in the new unit but is what the operator is told. */
    public enum Kind {
        /** {@code ETCD_*} variables (env files, {@code Environment=}); ExecStart carries no flags. */
        ENVIRONMENT,
        /** Flags on ExecStart (literal, or from a variable such as DAEMON_ARGS), variables for the rest. */
        FLAGS,
        /** {@code --config-file} or {@code ETCD_CONFIG_FILE}: etcd reads only that YAML. */
        CONFIG_FILE
    }

    public OldMember {
        settings = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(settings));
        envFiles = List.copyOf(envFiles);
        findings = List.copyOf(findings);
    }

    /** True when an ERROR finding refuses a recovery on this host. */
    public boolean refused() {
        return findings.stream().anyMatch(f -> f.getSeverity() == Severity.ERROR);
    }

    /** One line for the report: where this member's settings live. */
    public String describe() {
        return switch (kind) {
            case ENVIRONMENT -> envFiles.isEmpty() ? "Environment= lines of " + unit.path()
                    : "env file " + envFiles.get(0) + (envFiles.size() > 1 ? " and " + (envFiles.size() - 1) + " more" : "");
            case FLAGS -> "flags on ExecStart" + launch.map(l -> " at " + l.source()).orElse("")
                    + (envFiles.isEmpty() ? "" : " and env file " + envFiles.get(0));
            case CONFIG_FILE -> "config file " + configFile.map(Path::toString).orElse("?");
        };
    }
}
