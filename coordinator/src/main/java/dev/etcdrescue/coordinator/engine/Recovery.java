package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.files.PrivateFiles;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.report.JsonReporter;
import dev.etcdrescue.coordinator.report.Outcome;
import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.coordinator.report.RecoveryReport;
import dev.etcdrescue.coordinator.report.Reporter;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import dev.etcdrescue.coordinator.snapshot.SnapshotTaker;
import dev.etcdrescue.coordinator.verify.ClusterVerifier;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.ToIntFunction;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the phases of one cluster's recovery in order, journalling each, and stops at the first
 * that fails. A resumed run skips what the journal says is done: every phase after it is safe to
 * repeat (agents recognise their own operation's work and do not do it twice).
 */
public final class Recovery {
    private static final Logger log = LoggerFactory.getLogger(Recovery.class);
    private final AgentChannels channels;
    private final EtcdClients etcd;
    private final ToIntFunction<FailureKind> exitCodes;
    private final Clock clock;

    /** @param exitCodes the CLI's exit code of each failure kind, which the report records */
    public Recovery(AgentChannels channels, EtcdClients etcd, ToIntFunction<FailureKind> exitCodes) {
        this(channels, etcd, exitCodes, Clock.systemUTC());
    }

    /** @param clock wall-clock time for the journalled stop of old members and the downtime measured from it */
    public Recovery(AgentChannels channels, EtcdClients etcd, ToIntFunction<FailureKind> exitCodes, Clock clock) {
        this.channels = channels;
        this.etcd = etcd;
        this.exitCodes = exitCodes;
        this.clock = clock;
    }

    /** The report's exit code: 0 when nothing failed. */
    private int exitCode(FailureKind failure) {
        return failure == null ? 0 : exitCodes.applyAsInt(failure);
    }

    public static String newOperationId() {
        return "rescue-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-"
                + HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt()).toLowerCase(Locale.ROOT);
    }

    public RecoveryReport run(ClusterPlan plan, RecoveryOptions options, Journal journal, Reporter reporter) {
        String operationId = journal.header().operationId();
        boolean resuming = !journal.donePhases().isEmpty();
        SnapshotTaker taker = new SnapshotTaker(etcd, Duration.ofSeconds(5));
        ClusterVerifier verifier = new ClusterVerifier(etcd);
        List<Phase> phases = List.of(new PreflightPhase(taker), new SnapshotPhase(taker, channels), new DistributePhase(channels),
                new RestorePhase(), new ConfigurePhase(), new StopOldPhase(verifier), new StartPhase(), new VerifyPhase(verifier),
                new ReleasePhase(verifier), new CutOverPhase());
        Map<String, AgentClient> agents = new LinkedHashMap<>();
        for (MemberPlan m : plan.members()) {
            agents.put(m.hostName(), channels.connect(m.agentEndpoint()));
        }
        ExecutorService executor = Executors.newFixedThreadPool(Math.max(2, plan.members().size()));
        ScheduledExecutorService renewer = Executors.newSingleThreadScheduledExecutor();
        RecoveryRun run = new RecoveryRun(plan, options, operationId, reporter, agents, etcd, executor, journal, clock);
        Map<String, Long> phaseMillis = new LinkedHashMap<>();
        reporter.runStarted(plan.name(), operationId, options.workDir().toString());
        FailureKind failure = null;
        String message = "cluster " + plan.name() + " restored on " + plan.members().size() + " hosts and verified";
        try {
            if (resuming) {
                Claims.reclaim(run);
                Claims.startRenewing(renewer, run);
            }
            for (Phase phase : phases) {
                if (journal.isDone(phase.name())) {
                    PhaseFacts.restore(run, phase.name(), journal);
                    reporter.note(phase.name(), phase.name().label() + ": done in an earlier attempt (journal), not repeated");
                    continue;
                }
                long t0 = System.nanoTime();
                reporter.phaseStarted(phase.name());
                journal.phaseStarted(phase.name());
                boolean ok = false;
                try {
                    phase.run(run);
                    ok = true;
                } finally {
                    Duration took = Duration.ofNanos(System.nanoTime() - t0);
                    phaseMillis.put(phase.name().label(), took.toMillis());
                    reporter.phaseFinished(phase.name(), took, ok);
                }
                servingAgain(run, phase.name());
                journal.phaseDone(phase.name(), PhaseFacts.of(run, phase.name()));
                if (phase.name() == PhaseName.PREFLIGHT) {
                    Claims.startRenewing(renewer, run);
                }
            }
            Claims.release(run);
        } catch (UserException e) {
            failure = e.kind();
            PhaseName phase = e instanceof PhaseFailedException pf ? pf.phase() : null;
            if (phase != null && run.results.stream().noneMatch(r -> r.phase() == phase && r.failed())) {
                run.recordCluster(phase, Outcome.FAILED, e.getMessage(), Duration.ZERO);
            }
            try {
                message = e.getMessage() + FailurePolicy.afterFailure(run, phase);
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
                message = e.getMessage() + "\ninterrupted while cleaning up; resume with: etcd-rescue resume " + options.workDir();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure = FailureKind.PHASE_FAILED;
            message = "interrupted; resume with: etcd-rescue resume " + options.workDir();
        } catch (Exception e) {
            log.error("recovery failed unexpectedly", e);
            failure = FailureKind.INTERNAL;
            message = "internal error: " + e + " (a bug; the log has the stack trace); resume with: etcd-rescue resume " + options.workDir();
        } finally {
            renewer.shutdownNow();
            if (run.live != null) {
                run.live.close();
            }
        }
        SnapshotRetention.settle(run, failure == null);
        try {
            RecoveryReport report = new RecoveryReport(plan.name(), operationId, failure == null, exitCode(failure), message,
                    options.workDir().toString(), run.snapshotSummary, phaseMillis, new ArrayList<>(run.results),
                    new ArrayList<>(run.checks), newClientEndpoints(plan),
                    run.downtime == null ? null : run.downtime.toMillis());
            writeReport(report, options.workDir());
            reporter.runFinished(report);
            return report;
        } finally {
            executor.shutdownNow();
            agents.values().forEach(AgentClient::close);
        }
    }

    /** Rolls back every host of a run (the `rollback` command): each agent undoes what its journal holds for the operation. */
    public RecoveryReport rollback(ClusterPlan plan, Journal journal, Path workDir, Reporter reporter) {
        String operationId = journal.header().operationId();
        CoordinatorFailpoints failpoints = CoordinatorFailpoints.fromEnvironment(System.getenv());
        Map<String, AgentClient> agents = new LinkedHashMap<>();
        for (MemberPlan m : plan.members()) {
            agents.put(m.hostName(), channels.connect(m.agentEndpoint()));
        }
        ExecutorService executor = Executors.newFixedThreadPool(Math.max(2, plan.members().size()));
        RecoveryRun run = new RecoveryRun(plan, RecoveryOptions.defaults(workDir), operationId, reporter, agents, etcd, executor, journal,
                clock);
        reporter.runStarted(plan.name(), operationId, workDir.toString());
        FailureKind failure = null;
        String message = "operation " + operationId + " rolled back on " + plan.members().size() + " hosts";
        long t0 = System.nanoTime();
        try {
            reporter.phaseStarted(PhaseName.ROLLBACK);
            journal.phaseStarted(PhaseName.ROLLBACK);
            Rollbacks.rollbackAll(run, failpoints);
            journal.note("rolled-back", message);
        } catch (UserException e) {
            failure = e.kind();
            message = e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure = FailureKind.PHASE_FAILED;
            message = "interrupted: run the rollback again, it is safe to repeat";
        } finally {
            reporter.phaseFinished(PhaseName.ROLLBACK, Duration.ofNanos(System.nanoTime() - t0), failure == null);
            executor.shutdownNow();
            agents.values().forEach(AgentClient::close);
        }
        RecoveryReport report = new RecoveryReport(plan.name(), operationId, failure == null, exitCode(failure), message, workDir.toString(),
                null, Map.of("rollback", Duration.ofNanos(System.nanoTime() - t0).toMillis()), new ArrayList<>(run.results),
                List.of(), null, null);
        reporter.runFinished(report);
        return report;
    }

    /**
     * A restore in place ends the survivor's downtime when clients can use the new cluster: after release
     * (fenced), or after verify (not fenced). Measured from the journalled stop, so a resumed run counts the
     * time the coordinator was away.
     */
    private static void servingAgain(RecoveryRun run, PhaseName phase) {
        if (run.oldStoppedAtMillis > 0 && phase == (run.fenced() ? PhaseName.RELEASE : PhaseName.VERIFY)) {
            run.downtime = Duration.ofMillis(run.clock.millis() - run.oldStoppedAtMillis);
            run.reporter.note(phase, String.format(Locale.ROOT, "survivor downtime: %.1f s, from the stop of the old members (%s)"
                    + " until the new cluster served clients on the planned client URLs", run.downtime.toMillis() / 1000.0,
                    String.join(", ", run.freedPorts.keySet())));
        }
    }

    /** The setting clients need after the cut-over, e.g. kube-apiserver's --etcd-servers. */
    static String newClientEndpoints(ClusterPlan plan) {
        return plan.members().stream().map(m -> m.clientUrls().get(0).toString()).collect(Collectors.joining(","));
    }

    private static void writeReport(RecoveryReport report, Path workDir) {
        try {
            PrivateFiles.createDirectories(workDir);
            PrivateFiles.writeAtomically(workDir.resolve("report.json"), JsonReporter.mapper().writeValueAsBytes(report));
        } catch (Exception e) {
            log.warn("could not write {}/report.json: {}", workDir, e.getMessage());
        }
    }
}
