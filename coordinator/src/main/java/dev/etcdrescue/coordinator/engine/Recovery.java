package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.UserException;
import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentEndpoint;
import dev.etcdrescue.coordinator.cli.ExitCodes;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.report.JsonReporter;
import dev.etcdrescue.coordinator.report.RecoveryReport;
import dev.etcdrescue.coordinator.report.Reporter;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import dev.etcdrescue.coordinator.snapshot.SnapshotTaker;
import dev.etcdrescue.coordinator.verify.ClusterVerifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs the phases of one cluster's recovery in order, and stops at the first that fails. */
public final class Recovery {
    private static final Logger log = LoggerFactory.getLogger(Recovery.class);
    private final AgentChannels channels;
    private final EtcdClients etcd;

    public Recovery(AgentChannels channels, EtcdClients etcd) {
        this.channels = channels;
        this.etcd = etcd;
    }

    public static String newOperationId() {
        return "rescue-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-"
                + HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt()).toLowerCase();
    }

    public RecoveryReport run(ClusterPlan plan, RecoveryOptions options, String operationId, Reporter reporter) {
        SnapshotTaker taker = new SnapshotTaker(etcd, Duration.ofSeconds(5));
        List<Phase> phases = List.of(new PreflightPhase(taker), new SnapshotPhase(taker), new DistributePhase(),
                new RestorePhase(), new ConfigurePhase(), new StartPhase(),
                new VerifyPhase(new ClusterVerifier(etcd)), new CutOverPhase());
        Map<String, AgentClient> agents = new LinkedHashMap<>();
        for (MemberPlan m : plan.members()) {
            agents.put(m.hostName(), channels.connect(new AgentEndpoint(m.hostName(), m.agentHost(), m.agentPort())));
        }
        ExecutorService executor = Executors.newFixedThreadPool(Math.max(2, plan.members().size()));
        ScheduledExecutorService renewer = Executors.newSingleThreadScheduledExecutor();
        RecoveryRun run = new RecoveryRun(plan, options, operationId, reporter, agents, etcd, executor);
        Map<String, Long> phaseMillis = new LinkedHashMap<>();
        reporter.runStarted(plan.name(), operationId, options.workDir().toString());
        int exit = ExitCodes.OK;
        String message = "cluster " + plan.name() + " restored on " + plan.members().size() + " hosts and verified";
        try {
            Files.createDirectories(options.workDir());
            for (Phase phase : phases) {
                long t0 = System.nanoTime();
                reporter.phaseStarted(phase.name());
                boolean ok = false;
                try {
                    phase.run(run);
                    ok = true;
                } finally {
                    Duration took = Duration.ofNanos(System.nanoTime() - t0);
                    phaseMillis.put(phase.name().label(), took.toMillis());
                    reporter.phaseFinished(phase.name(), took, ok);
                }
                if (phase.name() == PhaseName.PREFLIGHT) {
                    long every = Math.max(1000, options.claimTtl().toMillis() / 3);
                    renewer.scheduleAtFixedRate(() -> renewClaims(run), every, every, TimeUnit.MILLISECONDS);
                }
            }
            releaseClaims(run);
        } catch (UserException e) {
            exit = e.exitCode();
            message = e.getMessage();
            PhaseName phase = e instanceof PhaseFailedException pf ? pf.phase() : null;
            if (phase != null && run.results.stream().noneMatch(r -> r.phase() == phase && r.failed())) {
                run.recordCluster(phase, Outcome.FAILED, e.getMessage(), Duration.ZERO);
            }
            message += afterFailureAdvice(phase);
            if (phase == null || phase.ordinal() <= PhaseName.DISTRIBUTE.ordinal()) {
                // Nothing outside staging changed: the hosts are free for the next attempt at once.
                releaseClaims(run);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            exit = ExitCodes.FAILED;
            message = "interrupted";
        } catch (Exception e) {
            log.error("recovery failed unexpectedly", e);
            exit = ExitCodes.INTERNAL;
            message = "internal error: " + e + " (a bug; the log has the stack trace)";
        } finally {
            renewer.shutdownNow();
            executor.shutdownNow();
            agents.values().forEach(AgentClient::close);
        }
        RecoveryReport report = new RecoveryReport(plan.name(), operationId, exit == ExitCodes.OK, exit, message,
                options.workDir().toString(), run.snapshotFacts, phaseMillis, new ArrayList<>(run.results),
                new ArrayList<>(run.checks), newClientEndpoints(plan));
        writeReport(report, options.workDir());
        reporter.runFinished(report);
        return report;
    }

    private static String afterFailureAdvice(PhaseName phase) {
        if (phase == null || phase.ordinal() <= PhaseName.DISTRIBUTE.ordinal()) {
            return "\nNothing outside the agents' staging dirs was changed.";
        }
        return "\nHosts were changed up to the " + phase.label() + " phase; every replaced file and dir was moved aside, "
                + "not deleted (see the lines above). The old units were not touched before cut-over.";
    }

    /** The setting clients need after the cut-over, e.g. kube-apiserver's --etcd-servers. */
    static String newClientEndpoints(ClusterPlan plan) {
        return plan.members().stream().map(m -> m.clientUrls().get(0).toString()).collect(Collectors.joining(","));
    }

    private void renewClaims(RecoveryRun run) {
        for (MemberPlan m : run.plan.members()) {
            try {
                run.agents.get(m.hostName()).renewClaim(run.header(m), run.options.claimTtl());
            } catch (RuntimeException e) {
                log.warn("could not renew the claim on {}: {}", m.hostName(), e.getMessage());
            }
        }
    }

    private void releaseClaims(RecoveryRun run) {
        for (MemberPlan m : run.plan.members()) {
            try {
                run.agents.get(m.hostName()).releaseClaim(run.header(m));
            } catch (RuntimeException e) {
                log.info("could not release the claim on {} (it expires by itself): {}", m.hostName(), e.getMessage());
            }
        }
    }

    private static void writeReport(RecoveryReport report, Path workDir) {
        try {
            Files.createDirectories(workDir);
            JsonReporter.mapper().writeValue(workDir.resolve("report.json").toFile(), report);
        } catch (Exception e) {
            log.warn("could not write {}/report.json: {}", workDir, e.getMessage());
        }
    }
}
