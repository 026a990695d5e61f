package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.InventoryLoader;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.proto.v1.EnvSetting;
import dev.etcdrescue.proto.v1.MemberSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** From the inventory to what the agents receive: MemberSpec (RestoreRequest, ConfigureRequest) and the extras. */
@Timeout(30)
class MemberSpecsTest {
    private static final long GIB = 1L << 30;

    @TempDir Path dir;

    private ClusterPlan load(String clusterVars) throws Exception {
        String yaml = """
                all:
                  children:
                    beta:
                      vars:
                        cluster_token: beta-restored
                        snapshot_endpoints: [https://10.0.0.1:2379]
                        scheme: https
                        etcd_cert_file: /etc/etcd/pki/member.pem
                        etcd_key_file: /etc/etcd/pki/member-key.pem
                        etcd_ca_file: /etc/etcd/pki/ca.pem
                        etcd_client_ca: ca.pem
                        etcd_client_cert: client.pem
                        etcd_client_key: client-key.pem
                """ + clusterVars + """
                      hosts:
                        beta-0: {address: 10.0.0.1}
                        beta-1: {address: 10.0.0.2}
                        beta-2: {address: 10.0.0.3}
                """;
        return InventoryLoader.load(Files.writeString(dir.resolve("inventory.yaml"), yaml)).clusters().get(0);
    }

    @Test
    void walDirGoesFromTheInventoryIntoTheMemberSpecOfRestoreAndConfigure() throws Exception {
        ClusterPlan plan = load("        data_dir: /var/lib/etcd/new.etcd\n        wal_dir: /var/lib/etcd/new.wal\n");
        MemberSpec spec = MemberSpecs.of(plan, plan.members().get(1));
        assertThat(spec.getWalDir()).isEqualTo("/var/lib/etcd/new.wal");
        assertThat(spec.getDataDir()).isEqualTo("/var/lib/etcd/new.etcd");
        assertThat(spec.getName()).isEqualTo("beta-1");
        assertThat(spec.getClientUrlsList()).containsExactly("https://10.0.0.2:22379");
        assertThat(spec.getPeerUrlsList()).containsExactly("https://10.0.0.2:22380");
        assertThat(spec.getInitialClusterList()).extracting(m -> m.getPeerUrls(0))
                .containsExactly("https://10.0.0.1:22380", "https://10.0.0.2:22380", "https://10.0.0.3:22380");
        assertThat(MemberSpecs.of(plan, load("").members().get(0)).getWalDir()).as("unset: inside the data dir").isEmpty();
    }

    @Test
    void extrasCarryTimersTlsFilesWithCertificateAuthAndTheOldMembersSettings() throws Exception {
        ClusterPlan plan = load("""
                        heartbeat_interval_ms: 250
                        election_timeout_ms: 2500
                        etcd_settings:
                          quota_backend_bytes: 4294967296
                          auto_compaction_retention: "8"
                """);
        assertThat(asMap(MemberSpecs.extras(plan.members().get(0)))).containsExactly(
                Map.entry("ETCD_HEARTBEAT_INTERVAL", "250"),
                Map.entry("ETCD_ELECTION_TIMEOUT", "2500"),
                Map.entry("ETCD_CERT_FILE", "/etc/etcd/pki/member.pem"),
                Map.entry("ETCD_KEY_FILE", "/etc/etcd/pki/member-key.pem"),
                Map.entry("ETCD_TRUSTED_CA_FILE", "/etc/etcd/pki/ca.pem"),
                Map.entry("ETCD_CLIENT_CERT_AUTH", "true"),
                Map.entry("ETCD_PEER_CERT_FILE", "/etc/etcd/pki/member.pem"),
                Map.entry("ETCD_PEER_KEY_FILE", "/etc/etcd/pki/member-key.pem"),
                Map.entry("ETCD_PEER_TRUSTED_CA_FILE", "/etc/etcd/pki/ca.pem"),
                Map.entry("ETCD_PEER_CLIENT_CERT_AUTH", "true"),
                Map.entry("ETCD_QUOTA_BACKEND_BYTES", "4294967296"),
                Map.entry("ETCD_AUTO_COMPACTION_RETENTION", "8"));
    }

    @Test
    void aSnapshotAboveTheDefaultQuotaGetsTwiceItsSizeRoundedUpToWholeGib() throws Exception {
        MemberPlan m = load("").members().get(0);
        assertThat(asMap(MemberSpecs.extras(m, 2 * GIB))).doesNotContainKey("ETCD_QUOTA_BACKEND_BYTES");
        assertThat(MemberSpecs.quotaNote(m, 2 * GIB)).isEmpty();
        long size = 2 * GIB + 1;
        assertThat(asMap(MemberSpecs.extras(m, size))).containsEntry("ETCD_QUOTA_BACKEND_BYTES", Long.toString(5 * GIB));
        assertThat(MemberSpecs.quotaNote(m, size)).hasValueSatisfying(note -> assertThat(note)
                .contains("raised to " + 5 * GIB + " bytes (5 GiB)", "the default 2 GiB", "NOSPACE"));
        assertThat(asMap(MemberSpecs.extras(m, 0))).as("size unknown").doesNotContainKey("ETCD_QUOTA_BACKEND_BYTES");
    }

    @Test
    void aConfiguredQuotaIsKeptWhenLargerAndRaisedWhenTheSnapshotDoesNotFit() throws Exception {
        MemberPlan eight = load("        etcd_settings: {quota_backend_bytes: 8589934592}\n").members().get(0);
        assertThat(asMap(MemberSpecs.extras(eight, 3 * GIB))).containsEntry("ETCD_QUOTA_BACKEND_BYTES", Long.toString(8 * GIB));
        MemberPlan one = load("        etcd_settings: {quota_backend_bytes: 1073741824}\n").members().get(0);
        List<EnvSetting> extras = MemberSpecs.extras(one, GIB + GIB / 2);
        assertThat(extras).filteredOn(e -> e.getKey().equals("ETCD_QUOTA_BACKEND_BYTES")).singleElement()
                .satisfies(e -> assertThat(e.getValue()).isEqualTo(Long.toString(3 * GIB)));
        assertThat(MemberSpecs.quotaNote(one, GIB + GIB / 2)).hasValueSatisfying(n -> assertThat(n).contains("configured 1073741824"));
    }

    private static Map<String, String> asMap(List<EnvSetting> extras) {
        Map<String, String> map = new LinkedHashMap<>();
        extras.forEach(e -> map.put(e.getKey(), e.getValue()));
        return map;
    }
}
