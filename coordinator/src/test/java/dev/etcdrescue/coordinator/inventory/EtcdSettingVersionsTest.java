package dev.etcdrescue.coordinator.inventory;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.coordinator.inventory.EtcdSettingVersions.Keep;
import dev.etcdrescue.coordinator.inventory.EtcdSettingVersions.Refuse;
import dev.etcdrescue.coordinator.inventory.EtcdSettingVersions.Rename;
import dev.etcdrescue.coordinator.inventory.EtcdSettingVersions.Result;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EtcdSettingVersionsTest {
    @Test
    void experimentalNamesAreKeptBefore36AndRenamedFrom36() {
        assertThat(EtcdSettingVersions.decide("3.5.16", "ETCD_EXPERIMENTAL_COMPACTION_BATCH_LIMIT", "500"))
                .isEqualTo(new Keep(""));
        assertThat(EtcdSettingVersions.decide("3.6.5", "ETCD_EXPERIMENTAL_COMPACTION_BATCH_LIMIT", "500"))
                .isInstanceOfSatisfying(Rename.class, r -> {
                    assertThat(r.name()).isEqualTo("ETCD_COMPACTION_BATCH_LIMIT");
                    assertThat(r.value()).isEqualTo("500");
                    assertThat(r.why()).contains("deprecated in etcd 3.6");
                });
        assertThat(EtcdSettingVersions.decide("v3.7.1", "ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL", "5s"))
                .isInstanceOfSatisfying(Rename.class, r -> {
                    assertThat(r.name()).isEqualTo("ETCD_WATCH_PROGRESS_NOTIFY_INTERVAL");
                    assertThat(r.why()).contains("etcd v3.7.1 no longer reads the experimental name");
                });
    }

    @Test
    void booleanExperimentsBecomeFeatureGatesFrom36() {
        assertThat(EtcdSettingVersions.decide("3.6.0", "ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", "true"))
                .isEqualTo(new Rename("ETCD_FEATURE_GATES", "InitialCorruptCheck=true", "deprecated in etcd 3.6, gone in 3.7"));
        assertThat(EtcdSettingVersions.decide("3.6.0-rc.5", "ETCD_EXPERIMENTAL_MEMORY_MLOCK", "true"))
                .as("memory-mlock became a plain flag, not a gate")
                .isInstanceOfSatisfying(Rename.class, r -> assertThat(r.name()).isEqualTo("ETCD_MEMORY_MLOCK"));
    }

    @Test
    void newNamesOnAnOlderEtcdGoBackToTheExperimentalOnesAndFeatureGatesAreRefused() {
        assertThat(EtcdSettingVersions.decide("3.5.16", "ETCD_CORRUPT_CHECK_TIME", "10m"))
                .isInstanceOfSatisfying(Rename.class, r -> assertThat(r.name()).isEqualTo("ETCD_EXPERIMENTAL_CORRUPT_CHECK_TIME"));
        assertThat(EtcdSettingVersions.decide("3.5.16", "ETCD_FEATURE_GATES", "InitialCorruptCheck=true"))
                .isInstanceOfSatisfying(Refuse.class, r -> assertThat(r.why()).contains("no feature gates"));
        assertThat(EtcdSettingVersions.decide("3.6.5", "ETCD_CORRUPT_CHECK_TIME", "10m")).isEqualTo(new Keep(""));
    }

    @Test
    void capnslogIsRefusedFrom35AndMaxSnapshotsNotedFrom36() {
        assertThat(EtcdSettingVersions.decide("3.4.23", "ETCD_LOGGER", "capnslog")).isEqualTo(new Keep(""));
        assertThat(EtcdSettingVersions.decide("3.5.0", "ETCD_LOGGER", "capnslog"))
                .isInstanceOfSatisfying(Refuse.class, r -> assertThat(r.why()).contains("removed in v3.5", "logger: zap"));
        assertThat(EtcdSettingVersions.decide("3.5.16", "ETCD_LOGGER", "zap")).isEqualTo(new Keep(""));
        assertThat(EtcdSettingVersions.decide("3.6.1", "ETCD_MAX_SNAPSHOTS", "5"))
                .isInstanceOfSatisfying(Keep.class, k -> assertThat(k.note()).contains("removed in 3.8"));
    }

    @Test
    void anUnknownVersionKeepsEverything() {
        assertThat(EtcdSettingVersions.decide("unknown", "ETCD_LOGGER", "capnslog")).isEqualTo(new Keep(""));
        assertThat(EtcdSettingVersions.decide("", "ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", "true")).isEqualTo(new Keep(""));
    }

    @Test
    void applyMergesGatesAndTheFirstOfTwoNamesWins() {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("ETCD_QUOTA_BACKEND_BYTES", "8589934592");
        settings.put("ETCD_COMPACTION_BATCH_LIMIT", "1000");            // the inventory's, first
        settings.put("ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", "true");
        settings.put("ETCD_EXPERIMENTAL_COMPACTION_BATCH_LIMIT", "500");  // the old file's
        settings.put("ETCD_EXPERIMENTAL_COMPACT_HASH_CHECK_ENABLED", "true");

        Result r = EtcdSettingVersions.apply("3.6.5", settings);

        assertThat(r.settings()).containsExactly(Map.entry("ETCD_QUOTA_BACKEND_BYTES", "8589934592"),
                Map.entry("ETCD_COMPACTION_BATCH_LIMIT", "1000"),
                Map.entry("ETCD_FEATURE_GATES", "InitialCorruptCheck=true,CompactHashCheck=true"));
        assertThat(r.lines()).anyMatch(l -> l.startsWith("renamed for etcd 3.6.5: ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=true"
                        + " -> ETCD_FEATURE_GATES=InitialCorruptCheck=true"))
                .anyMatch(l -> l.startsWith("dropped: ETCD_EXPERIMENTAL_COMPACTION_BATCH_LIMIT=500 (ETCD_COMPACTION_BATCH_LIMIT=1000"));
        assertThat(r.errors()).isEmpty();
    }

    @Test
    void applyKeepsAnExplicitGateOverARenamedOneAndRefusesGatesTheVersionLacks() {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("ETCD_FEATURE_GATES", "InitialCorruptCheck=false,FastLeaseKeepAlive=true");
        settings.put("ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", "true");
        settings.put("ETCD_LOGGER", "capnslog");

        Result r = EtcdSettingVersions.apply("3.6.5", settings);

        assertThat(r.settings()).containsExactly(Map.entry("ETCD_FEATURE_GATES", "InitialCorruptCheck=false"));
        assertThat(r.lines()).anyMatch(l -> l.startsWith("dropped: feature gate InitialCorruptCheck=true"));
        assertThat(r.errors()).hasSize(2)
                .anyMatch(e -> e.contains("FastLeaseKeepAlive") && e.contains("unrecognized feature gate"))
                .anyMatch(e -> e.startsWith("ETCD_LOGGER=capnslog:"));
        assertThat(EtcdSettingVersions.apply("3.7.1", Map.of("ETCD_FEATURE_GATES", "FastLeaseKeepAlive=true")).errors())
                .as("3.7 knows it").isEmpty();
    }

    @Test
    void applyOnA35HostLeavesExperimentalNamesAlone() {
        Result r = EtcdSettingVersions.apply("3.5.16", Map.of("ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", "true"));

        assertThat(r.settings()).containsExactly(Map.entry("ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", "true"));
        assertThat(r.lines()).isEmpty();
    }
}
