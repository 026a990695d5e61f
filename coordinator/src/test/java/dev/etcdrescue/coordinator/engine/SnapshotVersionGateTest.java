package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.snapshotformat.bolt.SnapshotInfo;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class SnapshotVersionGateTest {
    private static final Map<String, String> MIXED = new TreeMap<>(Map.of("h0", "3.5.16", "h1", "3.6.5", "h2", "3.7.1"));

    @Test
    void aHostOlderThanTheSnapshotsWriterIsRefused() {
        SnapshotVersionGate.Verdict v = SnapshotVersionGate.check(MIXED, Optional.of("3.6"), "the snapshot's storage version 3.6.0");

        assertThat(v.refused()).singleElement().asString().startsWith("h0 runs etcd 3.5.16, older than the snapshot's storage"
                + " version 3.6.0").contains("Install etcd 3.6 or newer there");
        assertThat(v.warnings()).isEmpty();
    }

    @Test
    void aJumpOfMoreThanOneMinorVersionIsAWarningNotARefusal() {
        SnapshotVersionGate.Verdict fromOld = SnapshotVersionGate.check(MIXED, Optional.empty(), "a 3.4 file");
        SnapshotVersionGate.Verdict from35 = SnapshotVersionGate.check(MIXED, Optional.of("3.5"), "a 3.5 file");

        assertThat(fromOld.refused()).isEmpty();
        assertThat(fromOld.warnings()).hasSize(2).allMatch(w -> w.contains("more than one minor version above a 3.4 file"))
                .anyMatch(w -> w.startsWith("h1 runs etcd 3.6.5")).anyMatch(w -> w.startsWith("h2 runs etcd 3.7.1"));
        assertThat(from35.warnings()).singleElement().asString().startsWith("h2 runs etcd 3.7.1");
        assertThat(from35.refused()).isEmpty();
    }

    @Test
    void anUnknownHostVersionIsLeftAlone() {
        assertThat(SnapshotVersionGate.check(Map.of("h0", "unknown"), Optional.of("3.6"), "x").refused()).isEmpty();
    }

    @Test
    void theWriterComesFromTheStorageVersionElseTheTerm() {
        assertThat(info("3.6.0", true).storageMinor()).contains("3.6");
        assertThat(info("3.7.0", false).storageMinor()).contains("3.7");
        assertThat(info("", true).storageMinor()).contains("3.5");
        assertThat(info("", false).storageMinor()).isEmpty();
    }

    private static SnapshotInfo info(String storageVersion, boolean term) {
        return new SnapshotInfo(10, 5, 4096, "abc", 3, true, storageVersion, term, -1, false);
    }
}
