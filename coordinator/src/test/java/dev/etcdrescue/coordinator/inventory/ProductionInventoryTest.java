package dev.etcdrescue.coordinator.inventory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Production etcd in the inventory: https with client-certificate auth, etcd auth, carried-over settings. */
@Timeout(30)
class ProductionInventoryTest {
    @TempDir Path dir;

    /** Cluster vars (indented 8) and host 0's extra keys (indented 10) go into a 3-host https cluster. */
    private static String inventory(String clusterVars, String host0) {
        return """
                all:
                  children:
                    beta:
                      vars:
                        cluster_token: beta-restored
                        snapshot_endpoints: [https://10.0.0.1:2379, https://10.0.0.2:2379]
                        scheme: https
                        etcd_cert_file: /etc/etcd/pki/member.pem
                        etcd_key_file: /etc/etcd/pki/member-key.pem
                        etcd_ca_file: /etc/etcd/pki/ca.pem
                        etcd_client_ca: etcd-pki/client/ca.pem
                        etcd_client_cert: etcd-pki/client/client.pem
                        etcd_client_key: etcd-pki/client/client-key.pem
                """ + clusterVars + """
                      hosts:
                        beta-0:
                          address: 10.0.0.1
                """ + host0 + """
                        beta-1:
                          address: 10.0.0.2
                        beta-2:
                          address: 10.0.0.3
                """;
    }

    @Test
    void httpsClusterGetsTlsFilesOnEveryMemberAndTheCoordinatorsClientFiles() throws Exception {
        ClusterPlan beta = load(inventory("", "")).clusters().get(0);

        MemberPlan first = beta.members().get(0);
        assertThat(first.peerUrls()).containsExactly(URI.create("https://10.0.0.1:22380"));
        assertThat(first.clientUrls()).containsExactly(URI.create("https://10.0.0.1:22379"));
        assertThat(first.tls()).isEqualTo(new MemberTls("/etc/etcd/pki/member.pem", "/etc/etcd/pki/member-key.pem",
                "/etc/etcd/pki/ca.pem", "/etc/etcd/pki/member.pem", "/etc/etcd/pki/member-key.pem", "/etc/etcd/pki/ca.pem"));
        assertThat(first.tls().env()).containsEntry("ETCD_CLIENT_CERT_AUTH", "true").containsEntry("ETCD_PEER_CLIENT_CERT_AUTH", "true");
        EtcdAccess access = beta.etcdAccess();
        assertThat(access.ca()).isEqualTo(dir.resolve("etcd-pki/client/ca.pem"));
        assertThat(access.cert()).isEqualTo(dir.resolve("etcd-pki/client/client.pem"));
        assertThat(access.key()).isEqualTo(dir.resolve("etcd-pki/client/client-key.pem"));
        assertThat(access.user()).isNull();
        assertThat(beta.withMembers(List.of(first)).etcdAccess()).isEqualTo(access);
    }

    @Test
    void peerFilesMayDifferPerHost() throws Exception {
        MemberPlan first = load(inventory("", """
                          etcd_peer_cert_file: /etc/kubernetes/pki/etcd/peer.crt
                          etcd_peer_key_file: /etc/kubernetes/pki/etcd/peer.key
                """)).clusters().get(0).members().get(0);
        assertThat(first.tls().peerCertFile()).isEqualTo("/etc/kubernetes/pki/etcd/peer.crt");
        assertThat(first.tls().peerKeyFile()).isEqualTo("/etc/kubernetes/pki/etcd/peer.key");
        assertThat(first.tls().peerCaFile()).isEqualTo("/etc/etcd/pki/ca.pem");
    }

    @Test
    void httpsWithoutTheMembersFilesOrTheCoordinatorsIsRefusedWithLines() throws Exception {
        String yaml = """
                all:
                  children:
                    beta:
                      vars:
                        cluster_token: beta-restored
                        snapshot_endpoints: [https://10.0.0.1:2379]
                        scheme: https
                        etcd_cert_file: /etc/etcd/pki/member.pem
                      hosts:
                        beta-0:
                          address: 10.0.0.1
                """;
        assertThatThrownBy(() -> load(yaml)).isInstanceOfSatisfying(InventoryException.class, e -> assertThat(e.problems())
                .anySatisfy(p -> assertThat(p).startsWith(file() + ":7: cluster beta, host beta-0, etcd_key_file: missing: scheme is https"))
                .anySatisfy(p -> assertThat(p).startsWith(file() + ":7: cluster beta, host beta-0, etcd_ca_file: missing")));
        String noClient = inventory("", "").replaceAll("(?m)^ *etcd_client_.*\n", "");
        assertThatThrownBy(() -> load(noClient)).isInstanceOfSatisfying(InventoryException.class, e -> assertThat(e.problems())
                .anySatisfy(p -> assertThat(p).startsWith(file() + ":3: cluster beta, etcd_client_ca: missing: the new members serve https"))
                .anySatisfy(p -> assertThat(p).contains("etcd_client_cert: missing: the new members require client certificates"))
                .hasSize(2));
    }

    @Test
    void tlsFilesWithHttpUrlsAreRefused() throws Exception {
        String yaml = inventory("", "").replace("scheme: https", "scheme: http")
                .replace("https://10.0.0.1:2379, https://10.0.0.2:2379", "http://10.0.0.1:2379");
        assertThatThrownBy(() -> load(yaml)).isInstanceOfSatisfying(InventoryException.class, e -> assertThat(e.problems())
                .anySatisfy(p -> assertThat(p).startsWith(file() + ":8: cluster beta, host beta-0, etcd_cert_file: is set but this"
                        + " host's URLs are http, so etcd would serve in the clear"))
                .anySatisfy(p -> assertThat(p).startsWith(file()
                        + ":11: cluster beta, host beta-0, etcd_client_ca: is set but no etcd URL is https")));
    }

    @Test
    void relativeOrUnsafeHostPathsAreRefused() throws Exception {
        assertThatThrownBy(() -> load(inventory("", """
                          etcd_key_file: pki/member-key.pem
                          etcd_ca_file: "/etc/etcd/pki/ca file.pem"
                """))).isInstanceOfSatisfying(InventoryException.class, e -> assertThat(e.problems())
                .anySatisfy(p -> assertThat(p).startsWith(file()
                        + ":17: cluster beta, host beta-0, etcd_key_file: 'pki/member-key.pem' must be an absolute path"))
                .anySatisfy(p -> assertThat(p).startsWith(file() + ":18: cluster beta, host beta-0, etcd_ca_file:").contains("plain file path")));
    }

    @Test
    void aPasswordInTheInventoryIsRefusedSayingWhereToPutIt() throws Exception {
        assertThatThrownBy(() -> load(inventory("        etcd_user: root\n        etcd_password: hunter2\n", "")))
                .isInstanceOfSatisfying(InventoryException.class, e -> assertThat(e.problems()).singleElement().satisfies(p -> assertThat(p)
                        .startsWith(file() + ":15: cluster beta, host beta-0, etcd_password: refused: a password in the inventory")
                        .contains("etcd_password_file", "ETCD_RESCUE_ETCD_PASSWORD").doesNotContain("hunter2")));
    }

    @Test
    void userAndPasswordFileAreTheCoordinatorsAndThePasswordIsReadOnlyWhenNeeded() throws Exception {
        ClusterPlan beta = load(inventory("        etcd_user: root\n        etcd_password_file: secrets/etcd-password\n", ""))
                .clusters().get(0);
        EtcdAccess access = beta.etcdAccess();
        assertThat(access.user()).isEqualTo("root");
        assertThat(access.passwordFile()).isEqualTo(dir.resolve("secrets/etcd-password"));
        assertThatThrownBy(() -> access.password(Map.of())).hasMessageContaining("cannot read etcd_password_file");
        Files.createDirectories(dir.resolve("secrets"));
        Files.writeString(dir.resolve("secrets/etcd-password"), "s3cret\n");
        assertThat(access.password(Map.of())).isEqualTo("s3cret");
        assertThat(access.toString()).doesNotContain("s3cret");

        EtcdAccess fromEnv = new EtcdAccess(null, null, null, "root", null);
        assertThat(fromEnv.password(Map.of(EtcdAccess.PASSWORD_ENV, "from-env"))).isEqualTo("from-env");
        assertThatThrownBy(() -> fromEnv.password(Map.of())).hasMessageContaining("export ETCD_RESCUE_ETCD_PASSWORD");
    }

    @Test
    void aPasswordIsNeverSentOverPlainHttp() {
        String yaml = inventory("        etcd_user: root\n        etcd_password_file: secrets/etcd-password\n", "")
                .replace("scheme: https", "scheme: http").replace("https://10.0.0.1:2379", "http://10.0.0.1:2379");
        assertThatThrownBy(() -> load(yaml)).isInstanceOfSatisfying(InventoryException.class, e -> assertThat(e.problems())
                .anySatisfy(p -> assertThat(p).contains("etcd_user: is set, but its password would cross the network in clear"
                        + " text to the new members (scheme: http), http://10.0.0.1:2379")));
    }

    @Test
    void aPasswordFileWithoutAUserIsRefused() throws Exception {
        assertThatThrownBy(() -> load(inventory("        etcd_password_file: pw\n", "")))
                .isInstanceOfSatisfying(InventoryException.class, e -> assertThat(e.problems()).singleElement().satisfies(p -> assertThat(p)
                        .startsWith(file() + ":14: cluster beta, host beta-0, etcd_password_file: is set but etcd_user is not")));
    }

    @Test
    void oldMembersSettingsAreCarriedOverAsEtcdEnvironment() throws Exception {
        MemberPlan first = load(inventory("""
                        etcd_settings:
                          quota_backend_bytes: 8589934592
                          snapshot_count: 10000
                          auto_compaction_mode: periodic
                          auto_compaction_retention: 1h
                          heartbeat_interval: 250
                          election_timeout: 2500
                          listen_metrics_urls: [http://127.0.0.1:22381]
                          log_level: warn
                          logger: zap
                """, "")).clusters().get(0).members().get(0);
        assertThat(first.etcdSettings()).containsExactly(
                Map.entry("ETCD_QUOTA_BACKEND_BYTES", "8589934592"), Map.entry("ETCD_SNAPSHOT_COUNT", "10000"),
                Map.entry("ETCD_AUTO_COMPACTION_MODE", "periodic"), Map.entry("ETCD_AUTO_COMPACTION_RETENTION", "1h"),
                Map.entry("ETCD_LISTEN_METRICS_URLS", "http://127.0.0.1:22381"), Map.entry("ETCD_LOG_LEVEL", "warn"),
                Map.entry("ETCD_LOGGER", "zap"));
        assertThat(first.heartbeatIntervalMs()).isEqualTo(250);
        assertThat(first.electionTimeoutMs()).isEqualTo(2500);
    }

    @Test
    void experimentalSettingsTheirNewNamesAndFeatureGatesAreCheckedEtcdSettings() throws Exception {
        MemberPlan first = load(inventory("""
                        etcd_settings:
                          experimental_initial_corrupt_check: true
                          corrupt_check_time: 10m
                          feature_gates: CompactHashCheck=true
                """, "")).clusters().get(0).members().get(0);
        assertThat(first.etcdSettings()).containsExactly(Map.entry("ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", "true"),
                Map.entry("ETCD_CORRUPT_CHECK_TIME", "10m"), Map.entry("ETCD_FEATURE_GATES", "CompactHashCheck=true"));

        String bad = inventory("""
                        etcd_settings:
                          experimental_compaction_sleep_interval: 10
                          feature_gates: CompactHashCheck
                """, "");
        assertThatThrownBy(() -> load(bad)).isInstanceOfSatisfying(InventoryException.class, e -> {
            assertThat(e.problems()).anySatisfy(p -> assertThat(p).startsWith(file() + ":15:")
                    .contains("etcd_settings.experimental_compaction_sleep_interval: '10' is not a duration like 500ms"));
            assertThat(e.problems()).anySatisfy(p -> assertThat(p).startsWith(file() + ":16:")
                    .contains("'CompactHashCheck' is not a comma-separated list of Name=true or Name=false"));
        });
    }

    @Test
    void settingsThatWouldBreakTheNewMemberAreRefusedWithTheirReason() throws Exception {
        String yaml = inventory("""
                        etcd_settings:
                          initial_cluster_state: existing
                          data-dir: /var/lib/etcd/default
                          ETCD_CERT_FILE: /x.pem
                          quota_backend_bytes: 8G
                          auto_compaction_mode: hourly
                          listen_metrics_urls: http://10.0.0.1:2381,http://127.0.0.1:22379
                          snapshot_cnt: 5
                          heartbeat_interval: 300
                        heartbeat_interval_ms: 300
                """, "");
        assertThatThrownBy(() -> load(yaml)).isInstanceOfSatisfying(InventoryException.class, e -> {
            List<String> problems = e.problems().stream().filter(p -> p.contains("host beta-0")).toList();
            assertThat(problems).anySatisfy(p -> assertThat(p).startsWith(file() + ":15: cluster beta, host beta-0,"
                    + " etcd_settings.initial_cluster_state: refused: must be 'new' for a restored member"));
            assertThat(problems).anySatisfy(p -> assertThat(p).startsWith(file() + ":16:").contains("etcd_settings.data-dir: refused:"
                    + " is written by etcd-rescue from the plan; set data_dir"));
            assertThat(problems).anySatisfy(p -> assertThat(p).startsWith(file() + ":17:").contains("refused:").contains("etcd_cert_file"));
            assertThat(problems).anySatisfy(p -> assertThat(p).startsWith(file() + ":18:").contains("'8G' is not a whole number of bytes"));
            assertThat(problems).anySatisfy(p -> assertThat(p).startsWith(file() + ":19:").contains("'hourly' is not periodic or revision"));
            assertThat(problems).anySatisfy(p -> assertThat(p).startsWith(file() + ":20:")
                    .contains("http://127.0.0.1:22379 uses port 22379, which the new member listens on"));
            assertThat(problems).noneSatisfy(p -> assertThat(p).contains("2381 uses port"));
            assertThat(problems).anySatisfy(p -> assertThat(p).startsWith(file() + ":21:").contains("unknown setting 'snapshot_cnt'")
                    .contains("allowed: quota_backend_bytes"));
            assertThat(problems).anySatisfy(p -> assertThat(p).startsWith(file() + ":22:")
                    .contains("etcd_settings.heartbeat_interval: is also set as heartbeat_interval_ms (" + file() + ":23): set it once"));
        });
    }

    @Test
    void aMetricsUrlOnThePortOfTheOldMemberIsRefused() throws Exception {
        String yaml = inventory("        etcd_settings: {listen_metrics_urls: [\"http://10.0.0.1:2379\"]}\n", "");
        assertThatThrownBy(() -> load(yaml)).isInstanceOfSatisfying(InventoryException.class, e -> assertThat(e.problems())
                .anySatisfy(p -> assertThat(p).contains("host beta-0").contains("http://10.0.0.1:2379 uses port 2379, which the old member"
                        + " on this host holds until the cut-over")));
    }

    @Test
    void walDirReachesThePlan() throws Exception {
        MemberPlan first = load(inventory("        wal_dir: /var/lib/etcd/new.wal\n", "")).clusters().get(0).members().get(0);
        assertThat(first.walDir()).isEqualTo("/var/lib/etcd/new.wal");
    }

    private Inventory load(String yaml) throws Exception {
        return InventoryLoader.load(Files.writeString(dir.resolve("inventory.yaml"), yaml));
    }

    private String file() {
        return dir.resolve("inventory.yaml").toString();
    }
}
