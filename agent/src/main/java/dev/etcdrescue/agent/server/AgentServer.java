package dev.etcdrescue.agent.server;

import dev.etcdrescue.agent.backup.BackupMetrics;
import dev.etcdrescue.agent.backup.BackupScheduler;
import dev.etcdrescue.agent.metrics.MetricsServer;
import dev.etcdrescue.agent.backup.BackupService;
import dev.etcdrescue.agent.config.AgentConfig;
import dev.etcdrescue.agent.oldmember.BaseUnits;
import dev.etcdrescue.agent.config.ConfigWriter;
import dev.etcdrescue.agent.failpoint.Failpoints;
import dev.etcdrescue.agent.io.ProcessRunner;
import dev.etcdrescue.agent.journal.JournaledMoves;
import dev.etcdrescue.agent.journal.OperationJournal;
import dev.etcdrescue.agent.rollback.RollbackRunner;
import dev.etcdrescue.agent.preflight.HostTools;
import dev.etcdrescue.agent.preflight.PreflightChecker;
import dev.etcdrescue.agent.restore.RestoreRunner;
import dev.etcdrescue.agent.restore.RestoreTools;
import dev.etcdrescue.agent.spec.PathRules;
import dev.etcdrescue.agent.spec.UnitScope;
import dev.etcdrescue.agent.systemd.Systemctl;
import dev.etcdrescue.agent.systemd.UnitOperations;
import dev.etcdrescue.agent.transfer.RelayDialer;
import dev.etcdrescue.agent.transfer.SnapshotInspector;
import dev.etcdrescue.agent.staging.StagingArea;
import dev.etcdrescue.agent.transfer.TransferService;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Builds the agent's components from its config and serves them over gRPC with mutual TLS. */
public final class AgentServer {
    private static final Logger log = LoggerFactory.getLogger(AgentServer.class);
    /** Restores and systemctl calls are few and long: a small pool, and a short queue to refuse floods. */
    private static final int BLOCKING_THREADS = 4;
    private static final int BLOCKING_QUEUE = 32;

    private final Server server;
    private final ExecutorService blocking;
    private final StatusTracker status;
    /** Scheduled backups, when agent.yaml configures them. */
    private final Optional<BackupScheduler> backups;
    private final Optional<MetricsServer> metrics;
    /** The snapshot data channel, when it could bind (decision 0023). */
    private final Optional<DataChannelServer> data;

    private AgentServer(Server server, ExecutorService blocking, StatusTracker status, Optional<BackupScheduler> backups,
                        Optional<MetricsServer> metrics, Optional<DataChannelServer> data) {
        this.backups = backups;
        this.metrics = metrics;
        this.data = data;
        this.server = server;
        this.blocking = blocking;
        this.status = status;
    }

    /**
     * @param listen the address to bind (the config's, or port 0 in tests)
     */
    public static AgentServer start(AgentConfig config, InetSocketAddress listen, SslContext tls, Systemctl systemctl,
                                    ProcessRunner runner, Clock clock) throws IOException {
        return start(config, listen, tls, systemctl, runner, clock, Failpoints.none());
    }

    /**
     * @param failpoints the points armed by the agent's environment ({@link Failpoints#ENV}); none in production
     */
    public static AgentServer start(AgentConfig config, InetSocketAddress listen, SslContext tls, Systemctl systemctl,
                                    ProcessRunner runner, Clock clock, Failpoints failpoints) throws IOException {
        Files.createDirectories(config.stateDir());
        ExecutorService blocking = blockingExecutor();
        StatusTracker status = new StatusTracker(clock);
        OperationJournal journal = new OperationJournal(config.journalDir(), clock);
        JournaledMoves moves = new JournaledMoves(journal);
        PathRules dataRoots = new PathRules(config.allowedDataRoots());
        BaseUnits baseUnits = BaseUnits.system(config.baseUnitDirs());
        UnitScope unitScope = config.unitScope();
        RestoreTools tools = new RestoreTools(config.toolDirs(), runner, config.commandTimeout());
        StagingArea staging = new StagingArea(config.stagingDir());
        staging.ensureDir();
        ClaimManager claims = new ClaimManager(config.claimFile(), clock, config.maxClaimTtl());
        PhaseMachine phases = new PhaseMachine(journal, status);
        // A claim that outlived a restart: its operation continues in the phase its journal records.
        claims.current().ifPresent(claim -> phases.sync(claim.getOperationId()));
        AuditLog audit = new AuditLog(config.auditLog(), clock);
        RpcRunner rpc = new RpcRunner(new HeaderValidator(config.hostName()), claims, audit, status, phases, blocking,
                failpoints);
        ConfigWriter configWriter = new ConfigWriter(config.envDir(), config.unitDir(), dataRoots, baseUnits, unitScope,
                new PathRules(config.logDirs(), "log_dirs"), moves,
                failpoints);
        HostTools hostTools = new HostTools(tools);
        TransferService transfers = new TransferService(staging,
                new SnapshotInspector(hostTools, runner, config.commandTimeout()), clock, new RelayDialer(config.tls()),
                config.maxSnapshotBytes(), failpoints);
        Optional<BackupScheduler> backups = BackupScheduler.of(config, runner, () -> claims.current().isPresent(), failpoints);
        RescueAgentService service = new RescueAgentService(config.hostName(), rpc, hostTools, transfers,
                new RestoreRunner(dataRoots, staging, tools, baseUnits, unitScope, config.baseUnit(), runner, moves,
                        config.restoreTimeout(), failpoints),
                configWriter,
                new UnitOperations(systemctl, journal, failpoints, unitScope),
                new RollbackRunner(journal, systemctl),
                new PreflightChecker(hostTools, baseUnits, dataRoots, configWriter, moves, config.stagingDir(),
                        config.listenText(), dev.etcdrescue.agent.preflight.PortHolders.system(),
                        unit -> systemctl.show(unit).getMainPid()),
                new PathRules(config.backupDirs(), "backup_dirs"),
                new dev.etcdrescue.agent.cleanup.Leftovers(journal, config.stagingDir()),
                dev.etcdrescue.agent.transfer.LocalSnapshotSender.from(config, runner), backups.map(BackupScheduler::store).orElse(null),
                backups.flatMap(BackupScheduler::objects));
        CoordinatorAuthInterceptor auth = new CoordinatorAuthInterceptor(CallerPolicy.of(config.tls()), audit, clock);
        Server server = NettyServerBuilder.forAddress(listen)
                .sslContext(tls)
                .addService(ServerInterceptors.intercept(transfers.chunks().bind(service.bindService()), auth))
                .addService(ServerInterceptors.intercept(new BackupService(backups, PeerIdentity::currentCommonName), auth))
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                // A coordinator that vanished without a reset (its host down, packets dropped) would keep
                // an upload open, and a resume refused, until the call's deadline; pings find it in ~40 s.
                .keepAliveTime(30, TimeUnit.SECONDS)
                .keepAliveTimeout(10, TimeUnit.SECONDS)
                // The sender may run this far ahead of the disk and digest: with the default 1 MiB and
                // 1 MiB chunks each chunk waited for the previous one's window update (stop and wait).
                // It bounds what one upload buffers in the agent's direct memory.
                .flowControlWindow(TransferService.FLOW_CONTROL_WINDOW_BYTES)
                .build()
                .start();
        // The tools are detected now, while the host is calm, rather than in a recovery's first
        // GetStatus: four or five processes that took about half of that call's 0.6 s (benchmarks.md).
        blocking.execute(hostTools::get);
        backups.ifPresent(BackupScheduler::start);
        Optional<MetricsServer> metrics = Optional.empty();
        if (config.metricsListen().isPresent()) {
            metrics = Optional.of(MetricsServer.start(config.metricsListen().get(), () -> backups.map(BackupMetrics::of)
                    .orElse(io.prometheus.metrics.model.snapshots.MetricSnapshots.of())));
        }
        int dataPort = config.dataPort(listen.getPort());
        Optional<DataChannelServer> data = dataPort == AgentConfig.DATA_PORT_OFF ? Optional.empty()
                : DataChannelServer.start(new InetSocketAddress(listen.getAddress(), dataPort), tls, auth, service, transfers.chunks());
        data.ifPresent(d -> transfers.setDataPort(d.port(), server.getPort()));
        return new AgentServer(server, blocking, status, backups, metrics, data);
    }

    public int port() {
        return server.getPort();
    }

    public StatusTracker status() {
        return status;
    }

    /** The data channel's port; empty when it is off or could not bind. */
    public Optional<Integer> dataPort() {
        return data.map(DataChannelServer::port);
    }

    /** Stops accepting calls, lets running ones finish until the deadline, then cancels the rest. */
    public void shutdown(Duration deadline) {
        backups.ifPresent(BackupScheduler::close);
        metrics.ifPresent(MetricsServer::close);
        data.ifPresent(DataChannelServer::close);
        server.shutdown();
        blocking.shutdown();
        try {
            if (!server.awaitTermination(deadline.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("calls still running after {}: cancelling them", deadline);
                server.shutdownNow();
                server.awaitTermination(5, TimeUnit.SECONDS);
            }
            if (!blocking.awaitTermination(deadline.toMillis(), TimeUnit.MILLISECONDS)) {
                blocking.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.shutdownNow();
            blocking.shutdownNow();
        }
    }

    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    private static ExecutorService blockingExecutor() {
        AtomicInteger count = new AtomicInteger();
        return new ThreadPoolExecutor(BLOCKING_THREADS, BLOCKING_THREADS, 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(BLOCKING_QUEUE), r -> {
                    Thread t = new Thread(r, "agent-blocking-" + count.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
    }
}
