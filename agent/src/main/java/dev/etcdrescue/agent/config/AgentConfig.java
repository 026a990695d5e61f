package dev.etcdrescue.agent.config;

import dev.etcdrescue.agent.spec.UnitScope;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The validated agent configuration ({@code /etc/etcd-rescue/agent.yaml}); see docs/architecture.md.
 * Every path is absolute and normalized. Load it with {@link AgentConfigLoader}.
 *
 * @param baseUnit         the unit whose {@code User=} owns restored data dirs when RestoreRequest.base_unit is empty
 * @param systemctl        the systemctl binary
 * @param restoreTimeout   how long one {@code snapshot restore} may run
 * @param commandTimeout   how long any other child process (systemctl, --version, status) may run
 * @param units            the unit names and globs this agent may act on, the base unit included
 * @param maxSnapshotBytes the largest snapshot a transfer may bring, 0 for no cap but the free space
 * @param logDirs          where files named in ETCD_LOG_OUTPUTS may lie
 * @param backup           scheduled backups, when configured
 * @param metricsListen    where Prometheus' text format is served ({@code metrics.listen}), when configured
 * @param dataPort         the snapshot data channel's port on the listen address (decision 0023): a port, 0 for
 *                         any free one, {@link #DATA_PORT_OFF}, or {@link #DATA_PORT_NEXT_TO_LISTEN} (the default:
 *                         listen's port + 1, or any free one when listen's is 0)
 */
public record AgentConfig(
        String hostName,
        InetSocketAddress listen,
        String listenText,
        TlsConfig tls,
        Path stateDir,
        List<Path> allowedDataRoots,
        Path envDir,
        Path unitDir,
        List<Path> baseUnitDirs,
        List<Path> toolDirs,
        List<Path> backupDirs,
        Duration maxClaimTtl,
        String baseUnit,
        Path systemctl,
        Duration restoreTimeout,
        Duration commandTimeout,
        List<String> units,
        long maxSnapshotBytes,
        List<Path> logDirs,
        Optional<BackupConfig> backup,
        Optional<InetSocketAddress> metricsListen,
        int dataPort) {
    public static final int DATA_PORT_OFF = -1;
    public static final int DATA_PORT_NEXT_TO_LISTEN = -2;

    /** The data channel's port when the gRPC server listens on {@code grpcPort}; {@link #DATA_PORT_OFF} for none. */
    public int dataPort(int grpcPort) {
        if (dataPort != DATA_PORT_NEXT_TO_LISTEN) {
            return dataPort;
        }
        return grpcPort == 0 ? 0 : grpcPort + 1;
    }

    public UnitScope unitScope() {
        return new UnitScope(units, unitDir, baseUnitDirs);
    }

    public Path stagingDir() {
        return stateDir.resolve("staging");
    }

    public Path journalDir() {
        return stateDir.resolve("journal");
    }

    public Path claimFile() {
        return stateDir.resolve("claim.json");
    }

    public Path auditLog() {
        return stateDir.resolve("audit.log");
    }
}
