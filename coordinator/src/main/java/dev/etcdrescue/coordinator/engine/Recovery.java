package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentEndpoint;
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
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.coordinator.snapshot.SnapshotTaker;
import dev.etcdrescue.coordinator.snapshot.SourceMember;
import dev.etcdrescue.coordinator.verify.ClusterVerifier;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.net.URI;
import java.nio.file.Path;
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
import java.util.concurrent.TimeUnit;
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

    /** @param exitCodes the CLI's exit code of each failure kind, which the report records */
    public Recovery(AgentChannels channels, EtcdClients etcd, ToIntFunction<FailureKind> exitCodes) {
        this.channels = channels;
        this.etcd = etcd;
        this.exitCodes = exitCodes;
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
        List<Phase> phases = List.of(new PreflightPhase(taker), new SnapshotPhase(taker), new DistributePhase(channels),
                new RestorePhase(), new ConfigurePhase(), new StopOldPhase(verifier), new StartPhase(), new VerifyPhase(verifier),
                new ReleasePhase(verifier), new CutOverPhase());
        Map<String, AgentClient> agents = new LinkedHashMap<>();
        for (MemberPlan m : plan.members()) {
            agents.put(m.hostName(), channels.connect(new AgentEndpoint(m.hostName(), m.agentHost(), m.agentPort())));
        }
        ExecutorService executor = Executors.newFixedThreadPool(Math.max(2, plan.members().size()));
        ScheduledExecutorService renewer = Executors.newSingleThreadScheduledExecutor();
        RecoveryRun run = new RecoveryRun(plan, options, operationId, reporter, agents, etcd, executor, journal);
        Map<String, Long> phaseMillis = new LinkedHashMap<>();
        reporter.runStarted(plan.name(), operationId, options.workDir().toString());
        FailureKind failure = null;
        String message = "cluster " + plan.name() + " restored on " + plan.members().size() + " hosts and verified";
        try {
            if (resuming) {
                reclaim(run);
                startRenewing(renewer, run);
            }
            for (Phase phase : phases) {
                if (journal.isDone(phase.name())) {
                    restoreFacts(run, phase.name(), journal.facts());
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
                journal.phaseDone(phase.name(), factsOf(run, phase.name()));
                if (phase.name() == PhaseName.PREFLIGHT) {
                    startRenewing(renewer, run);
                }
            }
            releaseClaims(run);
        } catch (UserException e) {
            failure = e.kind();
            PhaseName phase = e instanceof PhaseFailedException pf ? pf.phase() : null;
            if (phase != null && run.results.stream().noneMatch(r -> r.phase() == phase && r.failed())) {
                run.recordCluster(phase, Outcome.FAILED, e.getMessage(), Duration.ZERO);
            }
            try {
                message = e.getMessage() + afterFailure(run, phase);
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
                    options.workDir().toString(), run.snapshotFacts, phaseMillis, new ArrayList<>(run.results),
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
        Map<String, AgentClient> agents = new LinkedHashMap<>();
        for (MemberPlan m : plan.members()) {
            agents.put(m.hostName(), channels.connect(new AgentEndpoint(m.hostName(), m.agentHost(), m.agentPort())));
        }
        ExecutorService executor = Executors.newFixedThreadPool(Math.max(2, plan.members().size()));
        RecoveryRun run = new RecoveryRun(plan, RecoveryOptions.defaults(workDir), operationId, reporter, agents, etcd, executor, journal);
        reporter.runStarted(plan.name(), operationId, workDir.toString());
        FailureKind failure = null;
        String message = "operation " + operationId + " rolled back on " + plan.members().size() + " hosts";
        long t0 = System.nanoTime();
        try {
            reporter.phaseStarted(PhaseName.ROLLBACK);
            journal.phaseStarted(PhaseName.ROLLBACK);
            Rollbacks.rollbackAll(run);
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
                Map.of(), Map.of("rollback", Duration.ofNanos(System.nanoTime() - t0).toMillis()), new ArrayList<>(run.results),
                List.of(), null, null);
        reporter.runFinished(report);
        return report;
    }

    /**
     * What a failure leaves behind, and what is done about it here: nothing outside staging before
     * restore; after a failed start no new member may keep serving; with --yes every host is rolled back.
     */
    private String afterFailure(RecoveryRun run, PhaseName phase) throws InterruptedException {
        Path dir = run.options.workDir();
        if (phase == null || phase.ordinal() <= PhaseName.DISTRIBUTE.ordinal()) {
            releaseClaims(run);
            return "\nNothing outside the agents' staging dirs was changed.";
        }
        if (phase.ordinal() <= PhaseName.START.ordinal() && phase != PhaseName.VERIFY) {
            if (phase == PhaseName.START) {
                Rollbacks.stopNewMembers(run);
            }
            if (run.options.rollbackOnFailure()) {
                Rollbacks.rollbackAll(run);
                return "\nRolled back every host (--yes): old data dirs, env files and units are back, the old unit runs again "
                        + "where it ran; what this attempt created was moved aside, not deleted.";
            }
            return "\nHosts were changed up to the " + phase.label() + " phase; every replaced file and dir was moved aside (see above), "
                    + (run.oldStoppedAtMillis == 0 ? "the old units were not touched. " : "") + "Undo with: etcd-rescue rollback " + dir
                    + " --yes\nor fix the cause and continue with: etcd-rescue resume " + dir + stoppedOld(run) + claimsKept(run);
        }
        return "\nThe new members keep running" + whereMembersServe(run, phase)
                + " for inspection. Undo with: etcd-rescue rollback " + dir + " --yes, or continue with: etcd-rescue resume " + dir
                + stoppedOld(run) + claimsKept(run);
    }

    /**
     * A restore in place ends the survivor's downtime when clients can use the new cluster: after release
     * (fenced), or after verify (not fenced). Measured from the journalled stop, so a resumed run counts the
     * time the coordinator was away.
     */
    private static void servingAgain(RecoveryRun run, PhaseName phase) {
        if (run.oldStoppedAtMillis > 0 && phase == (run.fenced() ? PhaseName.RELEASE : PhaseName.VERIFY)) {
            run.downtime = Duration.ofMillis(System.currentTimeMillis() - run.oldStoppedAtMillis);
            run.reporter.note(phase, String.format(Locale.ROOT, "survivor downtime: %.1f s, from the stop of the old members (%s)"
                    + " until the new cluster served clients on the planned client URLs", run.downtime.toMillis() / 1000.0,
                    String.join(", ", run.freedPorts.keySet())));
        }
    }

    /** Where a restore in place stopped old members: what undoes it. */
    private static String stoppedOld(RecoveryRun run) {
        return run.oldStoppedAtMillis == 0 ? "" : "\nThe old members on " + String.join(", ", run.freedPorts.keySet())
                + " were stopped for the restore in place (their data dirs untouched): rollback starts them again.";
    }

    /** Kept so that no other operation changes a half-recovered host; resume and rollback take them over. */
    private static String claimsKept(RecoveryRun run) {
        return "\nThe agents stay claimed by this operation (other operations are refused) until resume or rollback takes over,"
                + " or until the claims expire " + run.options.claimTtl().toSeconds() + " s after this command ends.";
    }

    /** After release has begun, some or all members already serve their planned client URLs. */
    private static String whereMembersServe(RecoveryRun run, PhaseName phase) {
        if (!run.fenced()) {
            return "";
        }
        if (phase == PhaseName.RELEASE) {
            return " (the released ones on their planned client URLs, the others behind the fence)";
        }
        return phase.ordinal() > PhaseName.RELEASE.ordinal() ? " on their planned client URLs"
                : " behind the fence (clients cannot reach them)";
    }

    static Map<String, Object> factsOf(RecoveryRun run, PhaseName phase) {
        Map<String, Object> facts = new LinkedHashMap<>();
        if (phase == PhaseName.PREFLIGHT) {
            facts.put("bump", run.bump);
            facts.put("fencePort", run.fencePort);
            facts.put("carried", new LinkedHashMap<>(run.carried));
            facts.put("settings", new LinkedHashMap<>(run.settings));
            facts.put("etcdVersions", new LinkedHashMap<>(run.etcdVersions));
            facts.put("freedPorts", new LinkedHashMap<>(run.freedPorts));
            if (run.source != null) {
                SourceMember s = run.source;
                facts.put("sourceEndpoint", s.endpoint().toString());
                facts.put("sourceVersion", s.version());
                facts.put("sourceRevision", s.revision());
                facts.put("sourceRaftIndex", s.raftIndex());
                facts.put("sourceDbSize", s.dbSize());
            }
        } else if (phase == PhaseName.SNAPSHOT) {
            facts.put("snapshot", new LinkedHashMap<>(run.snapshotFacts));
            facts.put("snapshotTrailer", run.snapshot.trailer().name());
            facts.put("transferId", run.transferId);
        } else if (phase == PhaseName.STOP_OLD) {
            facts.putAll(InPlaceFacts.of(run));
        }
        if (run.downtime != null) {
            facts.put("survivorDowntimeMillis", run.downtime.toMillis());
        }
        return facts;
    }

    @SuppressWarnings("unchecked")
    static void restoreFacts(RecoveryRun run, PhaseName phase, Map<String, Object> facts) {
        if (phase == PhaseName.PREFLIGHT) {
            run.bump = ((Number) facts.getOrDefault("bump", 0)).longValue();
            // Journals written before the fence was decided in preflight fenced whenever the option asked.
            run.fencePort = ((Number) facts.getOrDefault("fencePort", run.options.fencePort())).intValue();
            run.applyCarried((Map<String, Map<String, String>>) facts.getOrDefault("carried", Map.of()));
            // Journals from before the version rules have no settings: the merged ones stand.
            run.applySettings((Map<String, Map<String, String>>) facts.getOrDefault("settings", Map.of()));
            run.etcdVersions.putAll((Map<String, String>) facts.getOrDefault("etcdVersions", Map.of()));
            run.freedPorts.putAll((Map<String, List<String>>) facts.getOrDefault("freedPorts", Map.of()));
            if (facts.containsKey("sourceEndpoint")) {
                run.source = new SourceMember(URI.create((String) facts.get("sourceEndpoint")), (String) facts.get("sourceVersion"),
                        ((Number) facts.get("sourceRevision")).longValue(), ((Number) facts.get("sourceRaftIndex")).longValue(),
                        ((Number) facts.get("sourceDbSize")).longValue(), 0);
            }
        } else if (phase == PhaseName.SNAPSHOT) {
            Map<String, Object> snap = (Map<String, Object>) facts.get("snapshot");
            run.snapshotFacts.putAll(snap);
            run.snapshot = new SnapshotFile(Path.of((String) snap.get("path")), ((Number) snap.get("size")).longValue(),
                    (String) snap.get("sha256"), SnapshotDigest.Trailer.valueOf((String) facts.get("snapshotTrailer")));
            run.expectedRevision = ((Number) snap.get("revision")).longValue();
            run.transferId = (String) facts.getOrDefault("transferId", run.snapshot.transferId());
        } else if (phase == PhaseName.STOP_OLD) {
            InPlaceFacts.read(run, facts);
        }
        if (facts.get("survivorDowntimeMillis") instanceof Number n) {
            run.downtime = Duration.ofMillis(n.longValue());
        }
    }

    /** A resumed run takes the claims back under the same operation id (the agents accept their own operation). */
    private static void reclaim(RecoveryRun run) throws InterruptedException {
        run.forEachHost(PhaseName.PREFLIGHT, (m, agent) -> {
            agent.claim(run.header(m), run.options.claimTtl());
            return RecoveryRun.Done.ok("claimed again for resumed operation " + run.operationId);
        });
    }

    /** The setting clients need after the cut-over, e.g. kube-apiserver's --etcd-servers. */
    static String newClientEndpoints(ClusterPlan plan) {
        return plan.members().stream().map(m -> m.clientUrls().get(0).toString()).collect(Collectors.joining(","));
    }

    private void startRenewing(ScheduledExecutorService renewer, RecoveryRun run) {
        long every = Math.max(1000, run.options.claimTtl().toMillis() / 3);
        renewer.scheduleAtFixedRate(() -> renewClaims(run), every, every, TimeUnit.MILLISECONDS);
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

    /** All hosts at once, each briefly: a frozen host must not hold up the answer (its claim expires by itself). */
    private static void releaseClaims(RecoveryRun run) {
        List<java.util.concurrent.CompletableFuture<Void>> calls = new ArrayList<>();
        for (MemberPlan m : run.plan.members()) {
            calls.add(java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    run.agents.get(m.hostName()).releaseClaim(run.header(m), Duration.ofSeconds(5));
                } catch (RuntimeException e) {
                    log.info("could not release the claim on {} (it expires by itself): {}", m.hostName(), e.getMessage());
                }
            }, run.executor));
        }
        calls.forEach(c -> {
            try {
                c.join();
            } catch (RuntimeException ignored) {
                // logged above
            }
        });
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
