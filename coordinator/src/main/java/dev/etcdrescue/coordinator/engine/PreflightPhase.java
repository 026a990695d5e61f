package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.inventory.SnapshotSource;
import dev.etcdrescue.coordinator.report.Outcome;
import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.coordinator.snapshot.SnapshotTaker;
import dev.etcdrescue.coordinator.snapshot.SourceMember;
import dev.etcdrescue.proto.v1.AgentStatus;
import dev.etcdrescue.proto.v1.Finding;
import dev.etcdrescue.proto.v1.PreflightReport;
import dev.etcdrescue.proto.v1.PreflightRequest;
import dev.etcdrescue.proto.v1.RestoreTool;
import dev.etcdrescue.proto.v1.Severity;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

/**
 * Checks everything that can be checked before anything is changed: the source, every agent
 * (reachable over mTLS, the right host, claimed for this operation), tools, disk, ports, versions.
 */
final class PreflightPhase implements Phase {
    /** Staging plus the restored data dir each hold the whole file; the margin covers WAL and snap files. */
    private static final long DISK_MARGIN = 64L << 20;
    /** A survivor still reports the old leader until its election timeout passes: look again before refusing. */
    private static final int LEADER_PROBES = 3;
    private static final Duration LEADER_PROBE_PAUSE = Duration.ofSeconds(3);

    private final SnapshotTaker taker;
    /** Each host's old env (its ETCD_* lines) and the file it came from, as its agent read them. */
    private final Map<String, Map<String, String>> oldEnvs = new ConcurrentHashMap<>();
    private final Map<String, String> oldEnvFiles = new ConcurrentHashMap<>();
    private final Map<String, Map<String, String>> oldSources = new ConcurrentHashMap<>();

    PreflightPhase(SnapshotTaker taker) {
        this.taker = taker;
    }

    @Override
    public PhaseName name() {
        return PhaseName.PREFLIGHT;
    }

    /**
     * The source is probed while every agent is asked for its status and claimed: the hosts need the
     * snapshot's size only for their disk checks, their last call (0.3 s off the RTO). A refused
     * source is reported before any host's problem, as when it was probed first.
     */
    @Override
    public void run(RecoveryRun run) throws Exception {
        ExecutorService prober = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "preflight-source");
            t.setDaemon(true);
            return t;
        });
        Future<Long> source = prober.submit(() -> checkSource(run));
        prober.shutdown();
        try {
            run.forEachHost(name(), (m, agent) -> checkHost(run, m, agent, source));
        } catch (PhaseFailedException hosts) {
            sourceSize(source);
            throw hosts;
        }
        long sizeEstimate = sourceSize(source);
        checkVersionsAgree(run);
        checkToolNotOlderThanSource(run);
        checkEtcdAgainstSource(run);
        decideBump(run);
        decideFence(run);
        carryOver(run, sizeEstimate);
    }

    /**
     * Carries the old members' settings over (each host's own env file, or the source host's for a host
     * without one), merges them into the plan, and has every agent check the merged settings once more
     * by rendering the env file configure will write. One line per host lists each decision.
     */
    private void carryOver(RecoveryRun run, long size) throws InterruptedException {
        Optional<MemberPlan> sourceHost = run.source == null ? Optional.empty()
                : CarryOver.sourceHost(run.plan, run.source.endpoint(), oldEnvs);
        Map<String, CarryOver.Planned> results = new LinkedHashMap<>();
        Map<String, Map<String, String>> carried = new LinkedHashMap<>();
        Map<String, Map<String, String>> settings = new LinkedHashMap<>();
        for (MemberPlan m : run.plan.members()) {
            CarryOver.Result r = CarryOver.of(run.plan, m, CarryOver.envFor(m, oldEnvs, oldEnvFiles, oldSources, sourceHost),
                    run.fencePort);
            CarryOver.Planned planned = CarryOver.planned(m, r, run.etcdVersions.getOrDefault(m.hostName(), ""));
            results.put(m.hostName(), planned);
            carried.put(m.hostName(), r.settings());
            settings.put(m.hostName(), planned.member().etcdSettings());
        }
        run.applyCarried(carried);
        run.applySettings(settings);
        run.forEachHost(name(), (m, agent) -> {
            CarryOver.Planned r = results.get(m.hostName());
            String from = oldEnvFiles.getOrDefault(m.hostName(), "");
            String lines = "carry-over" + (from.isEmpty() ? "" : " from " + from) + ": " + String.join("; ", r.lines());
            if (!r.errors().isEmpty()) {
                return new RecoveryRun.Done(Outcome.FAILED, String.join("; ", r.errors()) + " [" + lines + "]");
            }
            if (!m.etcdSettings().isEmpty()) {
                PreflightReport checked = agent.preflight(PreflightRequest.newBuilder()
                        .setHeader(run.header(m))
                        .setMember(MemberSpecs.of(run.plan, run.running(m)))
                        .setSnapshotSize(size)
                        .setNewUnit(m.newUnit())
                        .setBaseUnit(m.baseUnit())
                        .addAllExtra(MemberSpecs.extras(m, size))
                        .build());
                List<String> refused = checked.getFindingsList().stream()
                        .filter(f -> f.getSeverity() == Severity.ERROR).map(Finding::getMessage).toList();
                if (!refused.isEmpty()) {
                    return new RecoveryRun.Done(Outcome.FAILED, "the agent refuses the carried-over settings: "
                            + String.join("; ", refused) + " [" + lines + "]");
                }
            }
            return RecoveryRun.Done.ok(lines);
        });
    }

    /** Fences the new members only where clients of the old cluster could reach them (Fence.decide). */
    private void decideFence(RecoveryRun run) {
        List<java.net.URI> oldEndpoints = run.plan.snapshot() instanceof SnapshotSource.Endpoints e ? e.endpoints() : List.of();
        Fence.Decision d = Fence.decide(run.plan, run.options, oldEnvs.values(), oldEndpoints);
        run.fencePort = d.port();
        run.reporter.note(name(), "fence: " + d.why());
    }

    /** Each host's etcd against the source member's server version (SnapshotVersionGate says what that is worth). */
    private void checkEtcdAgainstSource(RecoveryRun run) {
        if (run.source == null) {
            return;
        }
        SnapshotVersionGate.Verdict v = SnapshotVersionGate.check(new TreeMap<>(run.etcdVersions),
                Optional.of(run.source.version().replaceFirst("^v?(\\d+\\.\\d+).*$", "$1")),
                "the source member's etcd " + run.source.version());
        v.warnings().forEach(w -> run.reporter.note(name(), "WARNING: " + w));
        if (!v.refused().isEmpty()) {
            throw refused(String.join("; ", v.refused()));
        }
    }

    /** A restore tool older than the etcd that wrote the snapshot may misread it. */
    private void checkToolNotOlderThanSource(RecoveryRun run) {
        if (run.source == null) {
            return;
        }
        List<String> older = new ArrayList<>();
        run.tools.forEach((host, tool) -> {
            if (EtcdVersions.compareMinor(tool.getVersion(), run.source.version()) < 0) {
                older.add(host + " (" + tool.getKind().name().toLowerCase(Locale.ROOT) + " " + tool.getVersion() + ")");
            }
        });
        if (!older.isEmpty()) {
            throw refused("the snapshot comes from etcd " + run.source.version() + " but these hosts' restore tools are older: "
                    + older + ". Install etcd " + run.source.version() + " or newer there first");
        }
    }

    /** One bump for the whole cluster from every host's restore tool (RevisionBump.decide, as plan shows it). */
    private void decideBump(RecoveryRun run) {
        RevisionBump.Decision d = RevisionBump.decide(run.options.bumpRevision(), run.tools);
        if (d.refused()) {
            throw refused(d.why());
        }
        run.bump = d.bump();
        run.reporter.note(name(), "revision bump: " + d.why());
    }

    private long checkSource(RecoveryRun run) throws InterruptedException {
        long t0 = System.nanoTime();
        if (run.plan.snapshot() instanceof SnapshotSource.File file) {
            if (!Files.isReadable(file.path())) {
                throw refused("snapshot_file " + file.path() + " does not exist or is not readable: fix snapshot_file in the inventory");
            }
            try {
                long size = Files.size(file.path());
                run.recordCluster(name(), Outcome.OK, "snapshot file " + file.path() + " (" + size + " bytes)", since(t0));
                return size;
            } catch (java.io.IOException e) {
                throw refused("cannot read snapshot_file " + file.path() + ": " + e.getMessage());
            }
        }
        if (run.plan.snapshot() instanceof SnapshotSource.Backup backup) {
            SnapshotSource.Copy first = backup.inOrder().get(0);
            long copies = backup.inOrder().stream().filter(c -> c.id().equals(first.id())).count();
            run.recordCluster(name(), Outcome.OK, "backup " + first.id() + " (" + first.snapshotSize() + " bytes, revision " + first.revision()
                    + "), " + copies + " cop" + (copies == 1 ? "y" : "ies") + " of it to try, first " + first.describe(), since(t0));
            return first.snapshotSize();
        }
        SnapshotSource.Endpoints endpoints = (SnapshotSource.Endpoints) run.plan.snapshot();
        SnapshotTaker.Probe probe = taker.probe(endpoints.endpoints());
        for (int i = 1; i < LEADER_PROBES && !run.options.forceWithLeader() && probe.alive().stream().anyMatch(SourceMember::seesLeader); i++) {
            Thread.sleep(LEADER_PROBE_PAUSE.toMillis());
            probe = taker.probe(endpoints.endpoints());
        }
        probe.unreachable().forEach((url, why) -> run.reporter.note(name(), "old member " + url + " unreachable: " + why));
        SourceMember best = probe.best().orElseThrow(() -> refused("no old member answers at " + endpoints.endpoints()
                + ": check snapshot_endpoints, or restore from a backup with snapshot_file"));
        List<SourceMember> leaders = probe.alive().stream().filter(SourceMember::seesLeader).toList();
        if (!leaders.isEmpty() && !run.options.forceWithLeader()) {
            throw refused("old member " + leaders.get(0).endpoint() + " still sees a leader (id " + Long.toHexString(leaders.get(0).leaderId())
                    + "): the old cluster may still have quorum, and a restore beside it would split it in two. "
                    + "Stop the old members first, or pass --force-with-leader if you are sure");
        }
        run.source = best;
        checkV2(run, best);
        String why = probe.alive().size() == 1 ? "the only old member that answers"
                : "highest revision of " + probe.alive().size() + " answering members";
        run.recordCluster(name(), Outcome.OK, String.format(Locale.ROOT,
                "source %s: etcd %s, revision %d, db %d bytes (%s)", best.endpoint(), best.version(), best.revision(),
                best.dbSize(), why), since(t0));
        return best.dbSize();
    }

    /** The seed's warning, enforced: v2 keys are not in a v3 snapshot, so a restore loses them. */
    private void checkV2(RecoveryRun run, SourceMember source) {
        java.util.OptionalLong v2 = new dev.etcdrescue.coordinator.snapshot.V2Keys(Duration.ofSeconds(3)).count(source.endpoint());
        if (v2.isEmpty() || v2.getAsLong() == 0) {
            return;
        }
        String what = v2.getAsLong() + " v2 keys on " + source.endpoint() + " are not in a v3 snapshot and will not be restored";
        if (!run.options.allowV2Loss()) {
            throw refused(what + ". Save them first (etcdctl backup, or ETCDCTL_API=2 etcdctl ls --recursive), then pass --allow-v2-loss");
        }
        run.reporter.note(name(), "WARNING: " + what + " (--allow-v2-loss)");
    }

    /** The source's size once probed; its refusal (or an internal error) as it was thrown. */
    private static long sourceSize(Future<Long> source) throws InterruptedException {
        try {
            return source.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof InterruptedException i) {
                throw i;
            }
            throw new IllegalStateException("probing the source failed", e.getCause());
        }
    }

    private RecoveryRun.Done checkHost(RecoveryRun run, MemberPlan m, dev.etcdrescue.coordinator.agent.AgentClient agent,
                                       Future<Long> source) throws InterruptedException {
        AgentStatus status = agent.status();
        if (!status.getHostName().equals(m.hostName())) {
            return new RecoveryRun.Done(Outcome.FAILED, "the agent at " + agent.endpoint() + " is configured as host '"
                    + status.getHostName() + "', the inventory expects '" + m.hostName() + "': fix agent_endpoint or the agent's host_name");
        }
        agent.claim(run.header(m), run.options.claimTtl());
        long size;
        try {
            size = source.get();
        } catch (ExecutionException e) {
            return new RecoveryRun.Done(Outcome.SKIPPED, "claimed; not checked further: the source was refused");
        }
        PreflightReport report = agent.preflight(PreflightRequest.newBuilder()
                .setHeader(run.header(m))
                .setMember(portsToCheck(run, m))
                .setSnapshotSize(size)
                .setNewUnit(m.newUnit())
                .setBaseUnit(m.baseUnit())
                .addAllExtra(MemberSpecs.extras(m))
                // The restore will pass --skip-hash-check (RestorePhase.skipHashCheck): a tool without it is refused here.
                .setSkipHashCheck(true)
                .build());
        Map<String, String> oldEnv = new LinkedHashMap<>();
        Map<String, String> sources = new LinkedHashMap<>();
        report.getBaseEnvList().forEach(e -> {
            oldEnv.put(e.getKey(), e.getValue());
            sources.put(e.getKey(), e.getSource());
        });
        oldEnvs.put(m.hostName(), oldEnv);
        oldSources.put(m.hostName(), sources);
        oldEnvFiles.put(m.hostName(), report.getBaseLayout().isEmpty() ? report.getBaseEnvFile() : report.getBaseLayout());
        run.etcdVersions.put(m.hostName(), report.getStatus().getEtcdVersion());
        List<String> problems = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (Finding f : report.getFindingsList()) {
            // Each port the old member holds is summed up in one line below (InPlace.describe).
            if (!f.getCode().equals("port-held-by-old-member")) {
                (f.getSeverity() == Severity.ERROR ? problems : notes).add(f.getMessage());
            }
        }
        if (report.getStatus().getRestoreTool().getKind() == RestoreTool.RESTORE_TOOL_UNSPECIFIED) {
            problems.add("no etcdutl or etcdctl found: install etcd's client tools (Debian: apt-get install etcd-client)");
        }
        InPlace.Ports ports = InPlace.of(report.getPortsList());
        problems.addAll(ports.busy());
        if (!ports.freed().isEmpty()) {
            run.freedPorts.put(m.hostName(), ports.freed());
            notes.add(InPlace.describe(m.oldUnit(), ports.freed()));
        }
        long need = 2 * size + DISK_MARGIN;
        if (size > 0 && report.getFreeBytesDataDir() < need) {
            problems.add(String.format(Locale.ROOT, "only %d MiB free for %s, the restore needs about %d MiB (2 x snapshot + margin)",
                    report.getFreeBytesDataDir() >> 20, m.dataDir(), need >> 20));
        }
        if (!problems.isEmpty()) {
            return new RecoveryRun.Done(Outcome.FAILED, String.join("; ", problems));
        }
        var tool = report.getStatus().getRestoreTool();
        run.tools.put(m.hostName(), tool);
        String msg = String.format(Locale.ROOT, "etcd %s, restore with %s %s, %d MiB free%s",
                report.getStatus().getEtcdVersion(), tool.getKind().name().toLowerCase(Locale.ROOT), tool.getVersion(),
                report.getFreeBytesDataDir() >> 20,
                report.getDataDirExists() ? "; " + m.dataDir() + " exists and will be moved aside" : "");
        if (!notes.isEmpty()) {
            msg += "; " + String.join("; ", notes);
        }
        return RecoveryRun.Done.ok(msg);
    }

    /** The member spec with every client port it will listen on, fenced and planned, so preflight checks both. */
    private static dev.etcdrescue.proto.v1.MemberSpec portsToCheck(RecoveryRun run, MemberPlan m) {
        var spec = MemberSpecs.of(run.plan, m).toBuilder();
        if (run.fenced()) {
            spec.addAllListenClientUrls(MemberSpecs.strings(run.running(m).listenClientUrls()));
        }
        return spec.build();
    }

    /** Members of one cluster must run one etcd version: a mixed restore is a cluster nobody tested. */
    private void checkVersionsAgree(RecoveryRun run) {
        Map<String, List<String>> byVersion = new TreeMap<>();
        for (MemberPlan m : run.plan.members()) {
            String v = run.agents.get(m.hostName()).status().getEtcdVersion();
            byVersion.computeIfAbsent(v, k -> new ArrayList<>()).add(m.hostName());
        }
        if (byVersion.size() > 1) {
            throw refused("hosts run different etcd versions: " + byVersion.entrySet().stream()
                    .map(e -> e.getKey() + " on " + e.getValue()).collect(Collectors.joining(", "))
                    + ". Install the same etcd version everywhere first");
        }
    }

    private PhaseFailedException refused(String message) {
        return new PhaseFailedException(name(), FailureKind.REFUSED, message);
    }

    static Duration since(long t0) {
        return Duration.ofNanos(System.nanoTime() - t0);
    }
}
