package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.report.HostResult;
import dev.etcdrescue.coordinator.report.Outcome;
import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.coordinator.report.RecoveryReport;
import dev.etcdrescue.coordinator.report.Reporter;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.coordinator.snapshot.SourceMember;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.TransferResult;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/** The state one recovery carries from phase to phase. */
public final class RecoveryRun {
    /** Work on one host within a phase; returns what happened there. */
    interface HostAction {
        Done apply(MemberPlan member, AgentClient agent) throws Exception;
    }

    record Done(Outcome outcome, String message) {
        static Done ok(String message) {
            return new Done(Outcome.OK, message);
        }

        static Done changed(String message) {
            return new Done(Outcome.CHANGED, message);
        }
    }

    /** The inventory's plan; after preflight with the settings carried over from the old env files merged in. */
    volatile ClusterPlan plan;
    /** The settings carried over from the old env files, by host: decided in preflight, journalled for resume. */
    final Map<String, Map<String, String>> carried = new ConcurrentHashMap<>();
    /** Every host's settings as written, after the carried ones were merged and named for its etcd version. */
    final Map<String, Map<String, String>> settings = new ConcurrentHashMap<>();
    /** Each host's etcd server version, from preflight: the snapshot's writer is checked against it. */
    final Map<String, String> etcdVersions = new ConcurrentHashMap<>();
    final RecoveryOptions options;
    final String operationId;
    final Reporter reporter;
    final Map<String, AgentClient> agents;
    final EtcdClients etcd;
    final ExecutorService executor;
    final List<HostResult> results = Collections.synchronizedList(new ArrayList<>());
    final List<RecoveryReport.Check> checks = Collections.synchronizedList(new ArrayList<>());
    /** The snapshot as the report gives it: set by the snapshot phase, completed by distribute. */
    volatile dev.etcdrescue.coordinator.report.SnapshotSummary snapshotSummary;
    final Map<String, TransferResult> transfers = new ConcurrentHashMap<>();
    final Map<String, dev.etcdrescue.proto.v1.ToolInfo> tools = new ConcurrentHashMap<>();
    SnapshotFile snapshot;
    /** The id agents stage the snapshot under: its digest's, or a live transfer's when streamed while taken. */
    String transferId;
    /** Uploads started while the snapshot was being taken, by host; distribute waits for them. Empty otherwise. */
    final Map<String, java.util.concurrent.CompletableFuture<TransferResult>> liveUploads = new ConcurrentHashMap<>();
    dev.etcdrescue.coordinator.agent.LiveDistribution live;
    SourceMember source;
    /** The host whose agent holds the snapshot staged (it took it); null when the coordinator holds the file. Journalled. */
    volatile String snapshotHolder;
    /** How this run distributes: the option as the snapshot phase resolved it (auto, or a fallback). Journalled. */
    volatile dev.etcdrescue.coordinator.agent.SnapshotDistribution.Mode distribution;
    /** The coordinator's wire counters when the snapshot phase began: the report counts what it carried since. */
    volatile long[] wireAtSnapshot;
    /** Snapshot bytes the coordinator received from etcd itself (jetcd), 0 when an agent took it or it was a file. */
    volatile long etcdBytesReceived;
    /** The snapshot's revision, as the coordinator read it from the file. */
    long expectedRevision;
    /** What the restore adds to every revision (0: none); decided in preflight from the hosts' tools. */
    long bump;
    /**
     * The port members serve clients on until release, 0 for no fence: the option's until preflight decides
     * from the old client ports ({@link Fence#decide}); journalled, so a resumed run fences as the first did.
     */
    volatile int fencePort;
    /**
     * A restore in place: the planned ports the old member holds on each such host (host:port), which
     * the recovery frees by stopping it in {@link PhaseName#STOP_OLD}; decided in preflight, journalled.
     */
    final Map<String, List<String>> freedPorts = new ConcurrentHashMap<>();
    /** When the first old member was stopped for a restore in place (epoch ms), 0 before; journalled. */
    volatile long oldStoppedAtMillis;
    /** What the source answered before it was stopped in place, for verify to compare with; null otherwise. */
    volatile dev.etcdrescue.coordinator.verify.SourceRecord sourceRecord;
    /** The survivor's downtime in a restore in place (old member stopped until the new cluster serves), once known. */
    volatile Duration downtime;
    final Journal journal;
    /** Wall-clock time for what is journalled and compared across attempts (the old members' stop, the downtime). */
    final Clock clock;

    RecoveryRun(ClusterPlan plan, RecoveryOptions options, String operationId, Reporter reporter,
                Map<String, AgentClient> agents, EtcdClients etcd, ExecutorService executor, Journal journal) {
        this(plan, options, operationId, reporter, agents, etcd, executor, journal, Clock.systemUTC());
    }

    RecoveryRun(ClusterPlan plan, RecoveryOptions options, String operationId, Reporter reporter,
                Map<String, AgentClient> agents, EtcdClients etcd, ExecutorService executor, Journal journal, Clock clock) {
        this.clock = clock;
        this.journal = journal;
        this.plan = plan;
        this.options = options;
        this.operationId = operationId;
        this.reporter = reporter;
        this.agents = agents;
        this.etcd = etcd;
        this.executor = executor;
        this.fencePort = options.fencePort();
    }

    /** Merges the carried-over settings into the plan, so configure and release write them (the inventory wins). */
    void applyCarried(Map<String, Map<String, String>> byHost) {
        carried.putAll(byHost);
        plan = plan.withMembers(plan.members().stream()
                .map(m -> CarryOver.merged(m, byHost.getOrDefault(m.hostName(), Map.of()))).toList());
    }

    /**
     * Puts every host's final settings into the plan: the merged ones under the names its etcd reads
     * (CarryOver.planned), decided in preflight and journalled for resume.
     */
    void applySettings(Map<String, Map<String, String>> byHost) {
        settings.putAll(byHost);
        plan = plan.withMembers(plan.members().stream()
                .map(m -> byHost.containsKey(m.hostName()) ? m.withEtcdSettings(byHost.get(m.hostName())) : m).toList());
    }

    boolean fenced() {
        return fencePort > 0;
    }

    /** The member as it runs until released: behind the fence when fencing. */
    MemberPlan running(MemberPlan m) {
        return fenced() ? Fence.fenced(m, fencePort) : m;
    }

    /** The systemd actions {@code phase} takes on the member's host (UnitActions.of, as plan shows them). */
    List<UnitActions.Action> unitActions(MemberPlan m, PhaseName phase) {
        return UnitActions.in(phase, UnitActions.of(m, fenced(), options.keepOld(), freedPorts.getOrDefault(m.hostName(), List.of())));
    }

    /** The plan verify checks before release: the fenced client URLs when fencing. */
    ClusterPlan verifyPlan() {
        return fenced() ? Fence.fenced(plan, fencePort) : plan;
    }

    /** The revision every restored member must report. */
    long restoredRevision() {
        return expectedRevision + bump;
    }

    OperationHeader header(MemberPlan member) {
        return OperationHeader.newBuilder()
                .setClusterName(plan.name())
                .setOperationId(operationId)
                .setHostName(member.hostName())
                .build();
    }

    void record(HostResult result) {
        results.add(result);
        reporter.hostResult(result);
    }

    void recordCluster(PhaseName phase, Outcome outcome, String message, Duration took) {
        record(new HostResult("-", phase, outcome, message, took));
    }

    /** Runs {@code action} on every host at once; a failure on any host fails the phase after all have answered. */
    List<HostResult> forEachHost(PhaseName phase, HostAction action) throws InterruptedException {
        Map<MemberPlan, Future<HostResult>> futures = new LinkedHashMap<>();
        for (MemberPlan m : plan.members()) {
            futures.put(m, executor.submit(() -> runOne(phase, m, action)));
        }
        List<HostResult> out = new ArrayList<>();
        for (var e : futures.entrySet()) {
            HostResult r;
            try {
                r = e.getValue().get();
            } catch (java.util.concurrent.ExecutionException ex) {
                r = new HostResult(e.getKey().hostName(), phase, Outcome.FAILED, String.valueOf(ex.getCause()), Duration.ZERO);
                reporter.hostResult(r);
            }
            // Kept in inventory order, so the recap reads like the inventory; the live lines come as hosts finish.
            results.add(r);
            out.add(r);
        }
        List<HostResult> failed = out.stream().filter(HostResult::failed).toList();
        if (!failed.isEmpty()) {
            StringBuilder msg = new StringBuilder(phase.label() + " failed on " + failed.size() + " of " + out.size() + " hosts:");
            failed.forEach(f -> msg.append("\n  ").append(f.host()).append(": ").append(f.message()));
            throw new PhaseFailedException(phase, phase == PhaseName.PREFLIGHT ? FailureKind.REFUSED : FailureKind.PHASE_FAILED,
                    msg.toString());
        }
        return out;
    }

    private HostResult runOne(PhaseName phase, MemberPlan m, HostAction action) {
        long t0 = System.nanoTime();
        AgentClient agent = agents.get(m.hostName());
        HostResult r;
        try {
            Done d = action.apply(m, agent);
            r = new HostResult(m.hostName(), phase, d.outcome(), d.message(), Duration.ofNanos(System.nanoTime() - t0));
        } catch (Exception e) {
            r = new HostResult(m.hostName(), phase, Outcome.FAILED, AgentError.describe(e, agent.endpoint().toString()),
                    Duration.ofNanos(System.nanoTime() - t0));
        }
        reporter.hostResult(r);
        return r;
    }
}
