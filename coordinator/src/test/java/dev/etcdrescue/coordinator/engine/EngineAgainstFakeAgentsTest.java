package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.coordinator.agent.InProcessAgents;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.InventoryLoader;
import dev.etcdrescue.coordinator.report.HostResult;
import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.coordinator.report.RecoveryReport;
import dev.etcdrescue.coordinator.report.Reporter;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.proto.v1.ErrorReason;
import dev.etcdrescue.proto.v1.Severity;
import dev.etcdrescue.testsupport.FreePorts;
import io.grpc.Server;
import io.grpc.Status;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine's ordering, failure policy and resume, against agents on in-process gRPC (FakeAgent) and a
 * real etcd 3.4 snapshot of 24 KB: no root, no etcd. The run gets as far as start; verify then finds no
 * etcd at the planned client URLs, which is how these tests see the policy after verify as well.
 */
@Timeout(60)
class EngineAgainstFakeAgentsTest {
    private static final List<String> HOSTS = List.of("fake-0", "fake-1", "fake-2");
    /** The snapshot's revision and key count, as etcdctl snapshot status gave them when the file was made. */
    private static final long SNAPSHOT_REVISION = 41;
    /** The inventory's defaults. */
    private static final String OLD_UNIT = "etcd";
    private static final String NEW_UNIT = "etcd_new";

    @TempDir Path dir;
    private final List<FakeAgent.Call> calls = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, FakeAgent> agents = new LinkedHashMap<>();
    private final List<Server> servers = new ArrayList<>();
    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-05T03:00:00Z"));
    private ClusterPlan plan;
    private Path snapshot;

    @BeforeEach
    void fleet() throws Exception {
        snapshot = dir.resolve("snapshot.db");
        try (InputStream in = getClass().getResourceAsStream("/snapshots/etcd-3.4.23-revision-41.db")) {
            Files.copy(in, snapshot);
        }
        Path staged = Files.createDirectories(dir.resolve("agents"));
        for (String host : HOSTS) {
            FakeAgent agent = new FakeAgent(host, OLD_UNIT, calls, staged);
            agents.put(host, agent);
            servers.add(InProcessAgents.serve(host, agent));
        }
        // Nothing listens on the planned client port: verify finds no member, as without etcd it must.
        plan = InventoryLoader.load(Files.writeString(dir.resolve("inventory.yaml"), """
                all:
                  children:
                    fake:
                      vars:
                        cluster_token: fake-restored
                        snapshot_file: %s
                        client_port: %d
                      hosts:
                        fake-0: {address: 127.0.90.1}
                        fake-1: {address: 127.0.90.2}
                        fake-2: {address: 127.0.90.3}
                """.formatted(snapshot, FreePorts.loopback()))).clusters().get(0);
    }

    @AfterEach
    void stop() {
        servers.forEach(Server::shutdownNow);
    }

    private RecoveryOptions options() {
        RecoveryOptions d = RecoveryOptions.defaults(dir.resolve("run"));
        return new RecoveryOptions(d.workDir(), false, false, false, d.bumpRevision(), 0, false, 4096, d.claimTtl(),
                Duration.ofSeconds(10), Duration.ofSeconds(1), false, d.distribution(), d.fence(), false);
    }

    private RecoveryOptions withRollbackOnFailure(RecoveryOptions o) {
        return new RecoveryOptions(o.workDir(), o.keepOld(), o.allowNoHashTrailer(), o.forceWithLeader(), o.bumpRevision(), o.fencePort(),
                true, o.chunkSize(), o.claimTtl(), o.startTimeout(), o.verifyTimeout(), o.allowV2Loss(), o.distribution(), o.fence(),
                o.keepSnapshot());
    }

    private RecoveryReport recover(RecoveryOptions options) {
        Journal journal = Journal.create(options.workDir(), new Journal.Header("rescue-test-1", plan.name(), "inventory.yaml", "x", options));
        return run(options, journal);
    }

    private RecoveryReport resume(RecoveryOptions options) {
        return run(options, Journal.open(options.workDir()));
    }

    private RecoveryReport run(RecoveryOptions options, Journal journal) {
        Clock clock = new Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return now.get();
            }
        };
        Recovery recovery = new Recovery(InProcessAgents.channels(), new EtcdClients(Duration.ofSeconds(1), plan.etcdAccess()),
                FailureKind::ordinal, clock);
        return recovery.run(plan, options, journal, new Silent());
    }

    private List<String> rpcsOf(String host) {
        synchronized (calls) {
            return calls.stream().filter(c -> c.host().equals(host)).map(FakeAgent.Call::rpc)
                    .filter(r -> !r.equals("RenewClaim") && !r.equals("GetStatus") && !r.equals("InspectUnit")).toList();
        }
    }

    /** Index in the shared log of the first or last call of {@code rpc} on any host. */
    private int first(String rpc) {
        synchronized (calls) {
            return calls.stream().map(FakeAgent.Call::rpc).toList().indexOf(rpc);
        }
    }

    private int last(String rpc) {
        synchronized (calls) {
            return calls.stream().map(FakeAgent.Call::rpc).toList().lastIndexOf(rpc);
        }
    }

    private List<Integer> indexes(java.util.function.Predicate<FakeAgent.Call> which) {
        synchronized (calls) {
            return java.util.stream.IntStream.range(0, calls.size()).filter(i -> which.test(calls.get(i))).boxed().toList();
        }
    }

    private long count(String rpc) {
        synchronized (calls) {
            return calls.stream().filter(c -> c.rpc().equals(rpc)).count();
        }
    }

    @Test
    void everyHostFinishesEachPhaseBeforeAnyHostBeginsTheNext() throws Exception {
        RecoveryReport report = recover(options());

        for (String host : HOSTS) {
            assertThat(rpcsOf(host)).as(host).containsExactly("Claim", "Preflight", "BeginTransfer", "UploadSnapshot", "RestoreMember",
                    "ConfigureMember", "StartMember");
        }
        assertThat(last("UploadSnapshot")).isLessThan(first("RestoreMember"));
        assertThat(last("RestoreMember")).isLessThan(first("ConfigureMember"));
        assertThat(last("ConfigureMember")).isLessThan(first("StartMember"));
        assertThat(report.exitCode()).isEqualTo(FailureKind.VERIFY_FAILED.ordinal());
        Journal journal = Journal.open(options().workDir());
        assertThat(journal.donePhases()).containsExactly(PhaseName.PREFLIGHT, PhaseName.SNAPSHOT, PhaseName.DISTRIBUTE,
                PhaseName.RESTORE, PhaseName.CONFIGURE, PhaseName.STOP_OLD, PhaseName.START);
        String sha256 = SnapshotFile.inspect(snapshot).sha256();
        assertThat(report.snapshot().sha256()).isEqualTo(sha256);
        assertThat(report.snapshot().revision()).isEqualTo(SNAPSHOT_REVISION);
        // After a failed verify the new members keep running for inspection, still claimed by the run.
        assertThat(count("StopMember")).isZero();
        assertThat(count("ReleaseClaim")).isZero();
        agents.values().forEach(a -> assertThat(a.unitState(NEW_UNIT)).isEqualTo("active"));
        assertThat(report.message()).contains("keep running", "etcd-rescue rollback", "etcd-rescue resume");
    }

    @Test
    void aRefusalInPreflightChangesNothingAndReleasesEveryClaim() {
        agents.get("fake-1").finding(Severity.ERROR, "data-dir-not-empty", "/var/lib/etcd/new.etcd is not empty");

        RecoveryReport report = recover(options());

        assertThat(report.exitCode()).isEqualTo(FailureKind.REFUSED.ordinal());
        assertThat(report.message()).contains("fake-1", "/var/lib/etcd/new.etcd is not empty", "Nothing outside the agents' staging dirs");
        for (String rpc : List.of("BeginTransfer", "UploadSnapshot", "RestoreMember", "ConfigureMember", "StartMember")) {
            assertThat(count(rpc)).as(rpc).isZero();
        }
        assertThat(count("ReleaseClaim")).isEqualTo(HOSTS.size());
    }

    @Test
    void aFailedRestoreStopsThePhaseOnEveryHostAndSaysHowToUndoIt() {
        agents.get("fake-2").failNext("RestoreMember", Status.Code.INTERNAL, ErrorReason.ERROR_REASON_UNSPECIFIED,
                "etcdctl snapshot restore exited 1: disk I/O error");

        RecoveryReport report = recover(options());

        assertThat(report.exitCode()).isEqualTo(FailureKind.PHASE_FAILED.ordinal());
        assertThat(report.message()).contains("restore failed on 1 of 3 hosts", "fake-2", "disk I/O error",
                "etcd-rescue rollback", "etcd-rescue resume");
        assertThat(count("ConfigureMember")).as("no host goes on to configure").isZero();
        assertThat(count("Rollback")).as("without --yes nothing is rolled back").isZero();
        assertThat(count("ReleaseClaim")).as("the hosts stay claimed for resume or rollback").isZero();
    }

    @Test
    void withYesAFailedStartStopsTheNewMembersAndRollsEveryHostBack() {
        agents.get("fake-0").failNext("StartMember", Status.Code.INTERNAL, ErrorReason.ERROR_REASON_UNSPECIFIED,
                "etcd_new.service failed: exit-code");

        RecoveryReport report = recover(withRollbackOnFailure(options()));

        assertThat(report.exitCode()).isEqualTo(FailureKind.PHASE_FAILED.ordinal());
        assertThat(report.message()).contains("start failed", "fake-0", "Rolled back every host");
        assertThat(first("StopMember")).as("the new members are stopped first").isGreaterThan(last("StartMember"));
        assertThat(first("Rollback")).isGreaterThan(last("StopMember"));
        assertThat(count("Rollback")).isEqualTo(HOSTS.size());
        agents.values().forEach(a -> {
            assertThat(a.unitState(NEW_UNIT)).isEqualTo("inactive");
            assertThat(a.unitState(OLD_UNIT)).isEqualTo("active");
        });
    }

    @Test
    void resumeRepeatsOnlyWhatTheJournalDoesNotMarkDone() {
        agents.get("fake-1").failNext("ConfigureMember", Status.Code.FAILED_PRECONDITION, ErrorReason.INVALID_REQUEST,
                "/etc/default is read-only");
        RecoveryReport first = recover(options());
        assertThat(first.exitCode()).isEqualTo(FailureKind.PHASE_FAILED.ordinal());
        calls.clear();

        RecoveryReport resumed = resume(options());

        for (String host : HOSTS) {
            assertThat(rpcsOf(host)).as(host + ": claimed again, then configure and what follows; nothing sent or restored twice")
                    .containsExactly("Claim", "ConfigureMember", "StartMember");
        }
        synchronized (calls) {
            assertThat(calls).extracting(FakeAgent.Call::operationId).filteredOn(op -> !op.isEmpty()).containsOnly("rescue-test-1");
        }
        assertThat(resumed.exitCode()).as("the resumed run reaches verify").isEqualTo(FailureKind.VERIFY_FAILED.ordinal());
        assertThat(resumed.snapshot().revision()).as("the snapshot's facts come back from the journal").isEqualTo(SNAPSHOT_REVISION);
    }

    @Test
    void inPlaceTheOldMembersStopTimeIsTheFirstAttemptsAfterResume() {
        agents.forEach((host, agent) -> agent.oldMemberHolds("127.0.90." + (HOSTS.indexOf(host) + 1), plan.members().get(0).clientUrls()
                .get(0).getPort()));
        agents.get("fake-2").failNext("StartMember", Status.Code.INTERNAL, ErrorReason.ERROR_REASON_UNSPECIFIED, "exit-code");
        Instant stopped = now.get();

        RecoveryReport first = recover(options());

        assertThat(first.exitCode()).isEqualTo(FailureKind.PHASE_FAILED.ordinal());
        List<Integer> oldStops = indexes(c -> c.rpc().equals("StopMember") && c.unit().equals(OLD_UNIT));
        assertThat(oldStops).as("every old member stopped").hasSize(HOSTS.size());
        assertThat(oldStops.get(0)).as("the old members stop after every host is configured").isGreaterThan(last("ConfigureMember"));
        assertThat(oldStops.get(HOSTS.size() - 1)).as("and before any new member starts").isLessThan(first("StartMember"));
        agents.values().forEach(a -> assertThat(a.unitState(OLD_UNIT)).isEqualTo("inactive"));
        assertThat(first.message()).contains("were stopped for the restore in place", "rollback starts them again");
        assertThat(Journal.open(options().workDir()).facts(InPlaceFacts.class).oldStoppedAtMillis()).isEqualTo(stopped.toEpochMilli());

        now.set(stopped.plus(Duration.ofMinutes(7)));
        calls.clear();
        resume(options());

        assertThat(count("StopMember")).as("stop-old is done: the resumed run does not stop anything again").isZero();
        assertThat(Journal.open(options().workDir()).facts(InPlaceFacts.class).oldStoppedAtMillis())
                .as("downtime is counted from the first attempt's stop, seven minutes before").isEqualTo(stopped.toEpochMilli());
    }

    /** Records nothing: the tests read the calls the agents saw, the journal and the report. */
    private static final class Silent implements Reporter {
        @Override
        public void runStarted(String cluster, String operationId, String workDir) {}

        @Override
        public void phaseStarted(PhaseName phase) {}

        @Override
        public void hostResult(HostResult result) {}

        @Override
        public void note(PhaseName phase, String message) {}

        @Override
        public void transferProgress(String host, long bytes, long total) {}

        @Override
        public void phaseFinished(PhaseName phase, Duration took, boolean ok) {}

        @Override
        public void runFinished(RecoveryReport report) {}
    }
}
