package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.InventoryLoader;
import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.proto.v1.EnvSetting;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A resumed run writes the same env files: the carried-over settings come back from the journal, in order. */
@Timeout(30)
class CarriedResumeTest {
    @TempDir Path dir;

    @Test
    void theCarriedSettingsSurviveTheJournal() throws Exception {
        ClusterPlan plan = InventoryLoader.load(Files.writeString(dir.resolve("inventory.yaml"), """
                all:
                  children:
                    beta:
                      vars:
                        cluster_token: beta-restored
                        snapshot_endpoints: [http://10.0.0.1:2379]
                        etcd_settings: {snapshot_count: 10000}
                      hosts:
                        beta-0: {address: 10.0.0.1}
                        beta-1: {address: 10.0.0.2}
                """)).clusters().get(0);
        Path work = dir.resolve("run");
        Journal journal = Journal.create(work, new Journal.Header("op-1", "beta", "inventory.yaml", "x", RecoveryOptions.defaults(work)));
        RecoveryRun first = new RecoveryRun(plan, RecoveryOptions.defaults(work), "op-1", null, Map.of(), null, null, journal);
        Map<String, String> carried = new LinkedHashMap<>();
        carried.put("ETCD_QUOTA_BACKEND_BYTES", "8589934592");
        carried.put("ETCD_LISTEN_METRICS_URLS", "http://10.0.0.1:22381");
        carried.put("ETCD_SNAPSHOT_COUNT", "50000");
        first.applyCarried(Map.of("beta-0", carried, "beta-1", Map.of()));
        Map<String, String> named36 = new LinkedHashMap<>(first.plan.members().get(1).etcdSettings());
        named36.put("ETCD_FEATURE_GATES", "InitialCorruptCheck=true");
        first.applySettings(Map.of("beta-1", named36));
        first.fencePort = 0;
        journal.phaseDone(PhaseName.PREFLIGHT, PhaseFacts.of(first, PhaseName.PREFLIGHT));

        Journal reopened = Journal.open(work);
        RecoveryRun resumed = new RecoveryRun(plan, RecoveryOptions.defaults(work), "op-1", null, Map.of(), null, null, reopened);
        PhaseFacts.restore(resumed, PhaseName.PREFLIGHT, reopened);

        List<EnvSetting> before = MemberSpecs.extras(first.plan.members().get(0), 3L << 30);
        assertThat(MemberSpecs.extras(resumed.plan.members().get(0), 3L << 30)).isEqualTo(before);
        assertThat(resumed.plan.members().get(0).etcdSettings()).containsExactly(Map.entry("ETCD_SNAPSHOT_COUNT", "10000"),
                Map.entry("ETCD_QUOTA_BACKEND_BYTES", "8589934592"), Map.entry("ETCD_LISTEN_METRICS_URLS", "http://10.0.0.1:22381"));
        assertThat(resumed.plan.members().get(1).etcdSettings()).as("the settings as named for the host's etcd")
                .containsExactly(Map.entry("ETCD_SNAPSHOT_COUNT", "10000"), Map.entry("ETCD_FEATURE_GATES", "InitialCorruptCheck=true"));
        assertThat(resumed.fenced()).as("preflight decided against the fence; the resumed run must not fence either").isFalse();
    }
}
