package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.InventoryLoader;
import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.coordinator.report.SnapshotSummary;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.coordinator.snapshot.SourceMember;
import dev.etcdrescue.coordinator.verify.SourceRecord;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Each phase's typed facts come back from the journal as they were, and journals of the earlier untyped layout still read. */
@Timeout(30)
class TypedFactsResumeTest {
    @TempDir Path dir;
    ClusterPlan plan;
    Path work;

    @BeforeEach
    void plan() throws Exception {
        plan = InventoryLoader.load(Files.writeString(dir.resolve("inventory.yaml"), """
                all:
                  children:
                    beta:
                      vars:
                        cluster_token: beta-restored
                        snapshot_endpoints: [http://10.0.0.1:2379]
                      hosts:
                        beta-0: {address: 10.0.0.1}
                        beta-1: {address: 10.0.0.2}
                """)).clusters().get(0);
        work = dir.resolve("run");
    }

    private RecoveryRun run(Journal journal) {
        return new RecoveryRun(plan, RecoveryOptions.defaults(work), "op-1", null, Map.of(), null, null, journal);
    }

    @Test
    void everyPhasesFactsSurviveTheJournal() {
        Journal journal = Journal.create(work, new Journal.Header("op-1", "beta", "inventory.yaml", "x", RecoveryOptions.defaults(work)));
        RecoveryRun first = run(journal);
        first.bump = 1_000_000_000L;
        first.fencePort = 32379;
        first.etcdVersions.put("beta-0", "3.5.16");
        first.freedPorts.put("beta-0", List.of("10.0.0.1:2379", "10.0.0.1:2380"));
        first.source = new SourceMember(URI.create("http://10.0.0.1:2379"), "3.5.16", 42, 50, 4096, 0);
        journal.phaseDone(PhaseName.PREFLIGHT, PhaseFacts.of(first, PhaseName.PREFLIGHT));
        first.snapshot = new SnapshotFile(dir.resolve("snap.db"), 4096, "ab".repeat(32), SnapshotDigest.Trailer.VALID);
        first.transferId = "live-7";
        first.snapshotHolder = "beta-0";
        first.distribution = dev.etcdrescue.coordinator.agent.SnapshotDistribution.Mode.SOURCE_FANOUT;
        first.snapshotSummary = new SnapshotSummary("http://10.0.0.1:2379", dir.resolve("snap.db").toString(), 4096, "ab".repeat(32),
                "valid", 42, 7, "1234", 50, "3.5", null, null, null, null, null);
        journal.phaseDone(PhaseName.SNAPSHOT, PhaseFacts.of(first, PhaseName.SNAPSHOT));
        first.snapshotSummary = first.snapshotSummary.distributed("source-fanout", 8192, 4096, null);
        journal.phaseDone(PhaseName.DISTRIBUTE, PhaseFacts.of(first, PhaseName.DISTRIBUTE));
        first.oldStoppedAtMillis = 1_700_000_000_000L;
        first.sourceRecord = new SourceRecord(URI.create("http://10.0.0.1:2379"), 42, 99, -1, null);
        journal.record(InPlaceFacts.of(first));
        journal.phaseDone(PhaseName.STOP_OLD, PhaseFacts.of(first, PhaseName.STOP_OLD));
        first.downtime = Duration.ofMillis(9845);
        journal.phaseDone(PhaseName.RELEASE, PhaseFacts.of(first, PhaseName.RELEASE));

        Journal reopened = Journal.open(work);
        RecoveryRun resumed = run(reopened);
        for (PhaseName p : reopened.donePhases()) {
            PhaseFacts.restore(resumed, p, reopened);
        }
        assertThat(resumed.bump).isEqualTo(1_000_000_000L);
        assertThat(resumed.fencePort).isEqualTo(32379);
        assertThat(resumed.etcdVersions).containsExactly(Map.entry("beta-0", "3.5.16"));
        assertThat(resumed.freedPorts).containsExactly(Map.entry("beta-0", List.of("10.0.0.1:2379", "10.0.0.1:2380")));
        assertThat(resumed.source).isEqualTo(first.source);
        assertThat(resumed.snapshot).isEqualTo(first.snapshot);
        assertThat(resumed.snapshotSummary).isEqualTo(first.snapshotSummary);
        assertThat(resumed.snapshotSummary.coordinatorBytesSent()).isEqualTo(8192);
        assertThat(resumed.snapshotSummary.coordinatorBytesReceived()).isEqualTo(4096);
        assertThat(resumed.snapshotSummary.coordinatorWireBytesRatio()).isEqualTo(3.0);
        assertThat(resumed.snapshotHolder).as("a resumed run sends from the agent that took the snapshot").isEqualTo("beta-0");
        assertThat(resumed.distribution).isEqualTo(dev.etcdrescue.coordinator.agent.SnapshotDistribution.Mode.SOURCE_FANOUT);
        assertThat(resumed.transferId).isEqualTo("live-7");
        assertThat(resumed.expectedRevision).isEqualTo(42);
        assertThat(resumed.oldStoppedAtMillis).isEqualTo(1_700_000_000_000L);
        assertThat(resumed.sourceRecord).isEqualTo(first.sourceRecord);
        assertThat(resumed.downtime).isEqualTo(Duration.ofMillis(9845));
    }

    @Test
    void aJournalOfTheUntypedLayoutStillResumes() throws Exception {
        Journal.create(work, new Journal.Header("op-1", "beta", "inventory.yaml", "x", RecoveryOptions.defaults(work)));
        // Lines as an etcd-rescue that journalled maps wrote them: no fencePort, no transferId, no distribution.
        Files.writeString(work.resolve("journal.jsonl"), """
                {"type":"phase-done","phase":"PREFLIGHT","facts":{"bump":0,"carried":{},"etcdVersions":{"beta-0":"3.4.23"},"sourceEndpoint":"http://10.0.0.1:2379","sourceVersion":"3.4.23","sourceRevision":11,"sourceRaftIndex":20,"sourceDbSize":118784}}
                {"type":"phase-done","phase":"SNAPSHOT","facts":{"snapshot":{"revision":11,"totalKeys":3,"etcdHash":"77","consistentIndex":20,"path":"/x/snap.db","size":118784,"sha256":"%s","hashTrailer":"valid","origin":"http://10.0.0.1:2379","storageVersion":"3.4 or older"},"snapshotTrailer":"VALID"}}
                """.formatted("cd".repeat(32)), StandardOpenOption.APPEND);
        Journal reopened = Journal.open(work);
        RecoveryRun resumed = run(reopened);
        PhaseFacts.restore(resumed, PhaseName.PREFLIGHT, reopened);
        PhaseFacts.restore(resumed, PhaseName.SNAPSHOT, reopened);
        assertThat(resumed.fencePort).as("the option's, as before the fence was decided in preflight")
                .isEqualTo(RecoveryOptions.defaults(work).fencePort());
        assertThat(resumed.source.revision()).isEqualTo(11);
        assertThat(resumed.snapshot.path()).isEqualTo(Path.of("/x/snap.db"));
        assertThat(resumed.transferId).as("the file's own id").isEqualTo(resumed.snapshot.transferId());
        assertThat(resumed.snapshotSummary.distribution()).isNull();
        assertThat(resumed.snapshotHolder).as("the coordinator's file").isNull();
        assertThat(resumed.distribution).as("the option's, as that etcd-rescue read it").isNull();
        assertThat(resumed.oldStoppedAtMillis).isZero();
    }
}
