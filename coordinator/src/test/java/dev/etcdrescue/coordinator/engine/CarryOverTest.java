package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.InventoryLoader;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.proto.v1.EnvSetting;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The rules that decide what the new member keeps of the old env file, and the lines that say so. */
@Timeout(30)
class CarryOverTest {
    private static final long GIB = 1L << 30;
    private static final String FILE = "/etc/default/etcd";

    @TempDir Path dir;

    private ClusterPlan load(String clusterVars) throws Exception {
        String yaml = """
                all:
                  children:
                    beta:
                      vars:
                        cluster_token: beta-restored
                        snapshot_endpoints: [http://10.0.0.1:2379]
                """ + clusterVars + """
                      hosts:
                        beta-0: {address: 10.0.0.1}
                        beta-1: {address: 10.0.0.2}
                        beta-2: {address: 10.0.0.3}
                """;
        return InventoryLoader.load(Files.writeString(dir.resolve("inventory.yaml"), yaml)).clusters().get(0);
    }

    private static Map<String, String> env(String... keyValues) {
        Map<String, String> env = new LinkedHashMap<>();
        for (String kv : keyValues) {
            int eq = kv.indexOf('=');
            env.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        return env;
    }

    private static CarryOver.Result own(ClusterPlan plan, int member, int fencePort, String... keyValues) {
        MemberPlan m = plan.members().get(member);
        return CarryOver.of(plan, m, Optional.of(new CarryOver.OldEnv(m.hostName(), m.address(), FILE, env(keyValues), true)), fencePort);
    }

    @Test
    void experimentalSettingsAreCarriedUnderTheNamesEachHostsEtcdReads() throws Exception {
        ClusterPlan plan = load("""
                        etcd_settings: {compaction_batch_limit: 1000}
                """);
        CarryOver.Result r = own(plan, 0, 0, "ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=true",
                "ETCD_EXPERIMENTAL_COMPACTION_BATCH_LIMIT=500", "ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL=5s");
        MemberPlan m = plan.members().get(0);

        CarryOver.Planned on36 = CarryOver.planned(m, r, "3.6.5");
        CarryOver.Planned on35 = CarryOver.planned(m, r, "3.5.16");

        assertThat(on36.member().etcdSettings()).containsExactly(Map.entry("ETCD_COMPACTION_BATCH_LIMIT", "1000"),
                Map.entry("ETCD_FEATURE_GATES", "InitialCorruptCheck=true"),
                Map.entry("ETCD_WATCH_PROGRESS_NOTIFY_INTERVAL", "5s"));
        assertThat(on36.lines()).contains("carried: ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=true")
                .anyMatch(l -> l.startsWith("renamed for etcd 3.6.5: ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL=5s"
                        + " -> ETCD_WATCH_PROGRESS_NOTIFY_INTERVAL=5s"));
        assertThat(on35.member().etcdSettings()).as("the inventory's new name goes back to the one 3.5 reads, and wins")
                .containsExactly(Map.entry("ETCD_EXPERIMENTAL_COMPACTION_BATCH_LIMIT", "1000"),
                        Map.entry("ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", "true"),
                        Map.entry("ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL", "5s"));
        assertThat(on35.errors()).isEmpty();
    }

    @Test
    void capnslogFromA34HostIsRefusedForA35HostUnlessTheInventorySetsTheLogger() throws Exception {
        CarryOver.Result r = own(load(""), 0, 0, "ETCD_LOGGER=capnslog");
        CarryOver.Planned planned = CarryOver.planned(load("").members().get(0), r, "3.5.16");
        assertThat(planned.errors()).singleElement().asString()
                .startsWith("refused for etcd 3.5.16: ETCD_LOGGER=capnslog: etcd 3.5.16 exits at start");
        assertThat(CarryOver.planned(load("").members().get(0), r, "3.4.23").errors()).isEmpty();

        ClusterPlan zap = load("""
                        etcd_settings: {logger: zap}
                """);
        assertThat(CarryOver.planned(zap.members().get(0), own(zap, 0, 0, "ETCD_LOGGER=capnslog"), "3.5.16").errors())
                .isEmpty();
    }

    @Test
    void carriesWhatMustSurviveInTheOldFilesOrder() throws Exception {
        ClusterPlan plan = load("");
        CarryOver.Result r = own(plan, 0, 0,
                "ETCD_QUOTA_BACKEND_BYTES=8589934592", "ETCD_HEARTBEAT_INTERVAL=200", "ETCD_ELECTION_TIMEOUT=2000",
                "ETCD_SNAPSHOT_COUNT=50000", "ETCD_AUTO_COMPACTION_MODE=periodic", "ETCD_AUTO_COMPACTION_RETENTION=1h30m",
                "ETCD_LOG_LEVEL=warn", "ETCD_LOGGER=zap", "ETCD_LOG_OUTPUTS=stderr,/var/log/etcd/etcd.log",
                "ETCD_MAX_REQUEST_BYTES=10485760", "ETCD_MAX_SNAPSHOTS=3", "ETCD_MAX_WALS=4", "ETCD_METRICS=extensive",
                "ETCD_CIPHER_SUITES=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ETCD_ENABLE_PPROF=true");

        assertThat(r.errors()).isEmpty();
        assertThat(r.settings()).containsExactly(Map.entry("ETCD_QUOTA_BACKEND_BYTES", "8589934592"),
                Map.entry("ETCD_HEARTBEAT_INTERVAL", "200"), Map.entry("ETCD_ELECTION_TIMEOUT", "2000"),
                Map.entry("ETCD_SNAPSHOT_COUNT", "50000"), Map.entry("ETCD_AUTO_COMPACTION_MODE", "periodic"),
                Map.entry("ETCD_AUTO_COMPACTION_RETENTION", "1h30m"), Map.entry("ETCD_LOG_LEVEL", "warn"),
                Map.entry("ETCD_LOGGER", "zap"), Map.entry("ETCD_LOG_OUTPUTS", "stderr,/var/log/etcd/etcd.log"),
                Map.entry("ETCD_MAX_REQUEST_BYTES", "10485760"), Map.entry("ETCD_MAX_SNAPSHOTS", "3"), Map.entry("ETCD_MAX_WALS", "4"),
                Map.entry("ETCD_METRICS", "extensive"), Map.entry("ETCD_CIPHER_SUITES", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
                Map.entry("ETCD_ENABLE_PPROF", "true"));
        assertThat(r.lines()).contains("carried: ETCD_QUOTA_BACKEND_BYTES=8589934592", "carried: ETCD_HEARTBEAT_INTERVAL=200",
                "carried: ETCD_ELECTION_TIMEOUT=2000", "carried: ETCD_AUTO_COMPACTION_RETENTION=1h30m").hasSize(15);
    }

    @Test
    void eachDecisionNamesWhereTheOldMemberGotTheSetting() throws Exception {
        ClusterPlan plan = load("");
        MemberPlan m = plan.members().get(0);
        Map<String, String> sources = Map.of(
                "ETCD_QUOTA_BACKEND_BYTES", "--quota-backend-bytes at /etc/systemd/system/etcd.service:7",
                "ETCD_NAME", "--name at /etc/systemd/system/etcd.service:6",
                "ETCD_INITIAL_CLUSTER_STATE", "initial-cluster-state: at /etc/etcd/etcd.yml:4");
        CarryOver.Result r = CarryOver.of(plan, m, Optional.of(new CarryOver.OldEnv(m.hostName(), m.address(), FILE,
                env("ETCD_QUOTA_BACKEND_BYTES=4294967296", "ETCD_NAME=old-0", "ETCD_INITIAL_CLUSTER_STATE=existing",
                        "ETCD_SNAPSHOT_COUNT=100"), sources, true)), 0);

        assertThat(r.lines()).contains(
                "carried: ETCD_QUOTA_BACKEND_BYTES=4294967296 [--quota-backend-bytes at /etc/systemd/system/etcd.service:7]",
                "carried: ETCD_SNAPSHOT_COUNT=100");
        assertThat(r.lines()).anyMatch(l -> l.startsWith("changed: ETCD_NAME old-0 -> ")
                && l.endsWith("[--name at /etc/systemd/system/etcd.service:6]"));
        assertThat(r.lines()).anyMatch(l -> l.startsWith("changed: ETCD_INITIAL_CLUSTER_STATE existing -> new")
                && l.endsWith("[initial-cluster-state: at /etc/etcd/etcd.yml:4]"));
    }

    @Test
    void aValueThatFailsItsGrammarIsDroppedAndReportedNeverPassedOn() throws Exception {
        CarryOver.Result r = own(load(""), 0, 0, "ETCD_SNAPSHOT_COUNT=ten", "ETCD_LOG_LEVEL=verbose", "ETCD_HEARTBEAT_INTERVAL=0",
                "ETCD_AUTO_COMPACTION_RETENTION=1h; rm -rf /", "ETCD_LOG_OUTPUTS=../x", "ETCD_QUOTA_BACKEND_BYTES=8G",
                "ETCD_LISTEN_METRICS_URLS=http://10.0.0.1:2381/metrics?x", "ETCD_MAX_WALS=5");

        assertThat(r.settings()).containsExactly(Map.entry("ETCD_MAX_WALS", "5"));
        assertThat(r.lines()).contains(
                "dropped: ETCD_SNAPSHOT_COUNT=ten is not a whole number (etcd-rescue passes on only checked values; set it in etcd_settings)",
                "dropped: ETCD_LOG_LEVEL=verbose is not debug, info, warn, error, panic or fatal"
                        + " (etcd-rescue passes on only checked values; set it in etcd_settings)",
                "dropped: ETCD_HEARTBEAT_INTERVAL=0 is not a whole number of milliseconds above 0"
                        + " (etcd-rescue passes on only checked values; set it in etcd_settings)",
                "dropped: ETCD_QUOTA_BACKEND_BYTES=8G is not a whole number of bytes"
                        + " (etcd-rescue passes on only checked values; set it in etcd_settings)",
                "dropped: ETCD_LISTEN_METRICS_URLS=http://10.0.0.1:2381/metrics?x is not a list of http(s)://HOST:PORT URLs");
        assertThat(r.lines()).anyMatch(l -> l.startsWith("dropped: ETCD_AUTO_COMPACTION_RETENTION='1h; rm -rf /' is not an hour count"));
        assertThat(r.lines()).anyMatch(l -> l.startsWith("dropped: ETCD_LOG_OUTPUTS=../x is not a comma-separated list"));
    }

    @Test
    void aMetricsPortTheOldMemberHoldsShiftsLikeTheClientPortAndItsClientPortMovesToAFreeOne() throws Exception {
        CarryOver.Result r = own(load(""), 0, 32379, "ETCD_LISTEN_CLIENT_URLS=http://10.0.0.1:2379",
                "ETCD_LISTEN_PEER_URLS=http://10.0.0.1:2380", "ETCD_LISTEN_METRICS_URLS=http://10.0.0.1:2381,http://127.0.0.1:2379");

        assertThat(r.settings()).containsExactly(Map.entry("ETCD_LISTEN_METRICS_URLS", "http://10.0.0.1:22381,http://127.0.0.1:22382"));
        assertThat(r.lines()).contains("remapped: ETCD_LISTEN_METRICS_URLS URL http://10.0.0.1:2381 -> http://10.0.0.1:22381"
                + " (the old member holds 2381 on this host until the cut-over; shifted like the client port (2379 -> 22379))");
        assertThat(r.lines()).contains("remapped: ETCD_LISTEN_METRICS_URLS URL http://127.0.0.1:2379 -> http://127.0.0.1:22382"
                + " (2379 was the old member's client port, now 22379; port 22379 is taken (the new member's 22379,22380,32379,"
                + " the old member's 2379,2380,2381), so 22382)");
    }

    @Test
    void aShiftedMetricsPortOnTheFenceMovesOnBy20000() throws Exception {
        CarryOver.Result r = own(load(""), 1, 32379, "ETCD_LISTEN_METRICS_URLS=http://0.0.0.0:12379");

        assertThat(r.settings()).containsEntry("ETCD_LISTEN_METRICS_URLS", "http://0.0.0.0:32380");
        assertThat(r.lines()).singleElement().asString().startsWith("remapped: ETCD_LISTEN_METRICS_URLS URL http://0.0.0.0:12379"
                + " -> http://0.0.0.0:32380 (the old member holds 12379 on this host until the cut-over; shifted like the client port"
                + " (2379 -> 22379); port 32379 is taken");
    }

    @Test
    void aMetricsUrlOnAnotherHostIsDropped() throws Exception {
        CarryOver.Result r = own(load(""), 1, 0, "ETCD_LISTEN_METRICS_URLS=http://10.0.0.9:2381");

        assertThat(r.settings()).isEmpty();
        assertThat(r.lines()).containsExactly("dropped: ETCD_LISTEN_METRICS_URLS URL http://10.0.0.9:2381"
                + " (not an address of this host: etcd could not listen there)");
    }

    @Test
    void aReplacementHostTakesTheSourceHostsFileWithItsAddressAndPortsKept() throws Exception {
        ClusterPlan plan = load("");
        Map<String, Map<String, String>> envs = Map.of(
                "beta-0", env("ETCD_QUOTA_BACKEND_BYTES=4294967296", "ETCD_LISTEN_METRICS_URLS=http://10.0.0.1:2381",
                        "ETCD_ADVERTISE_CLIENT_URLS=http://10.0.0.1:2379"),
                "beta-1", env("ETCD_SNAPSHOT_COUNT=7"),
                "beta-2", Map.of());
        Map<String, String> files = Map.of("beta-0", FILE, "beta-1", FILE, "beta-2", "");
        Optional<MemberPlan> source = CarryOver.sourceHost(plan, URI.create("http://10.0.0.1:2379"), envs);
        assertThat(source).map(MemberPlan::hostName).contains("beta-0");

        MemberPlan replacement = plan.members().get(2);
        Optional<CarryOver.OldEnv> old = CarryOver.envFor(replacement, envs, files, source);
        assertThat(old).map(CarryOver.OldEnv::hostName).contains("beta-0");
        assertThat(CarryOver.envFor(plan.members().get(1), envs, files, source)).map(CarryOver.OldEnv::onThisHost).contains(true);

        CarryOver.Result r = CarryOver.of(plan, replacement, old, 32379);
        assertThat(r.settings()).containsExactly(Map.entry("ETCD_QUOTA_BACKEND_BYTES", "4294967296"),
                Map.entry("ETCD_LISTEN_METRICS_URLS", "http://10.0.0.3:2381"));
        assertThat(r.lines()).containsExactly(
                "nothing to carry on this host: settings taken from beta-0's /etc/default/etcd (the snapshot source host)",
                "carried: ETCD_QUOTA_BACKEND_BYTES=4294967296",
                "remapped: ETCD_LISTEN_METRICS_URLS URL http://10.0.0.1:2381 -> http://10.0.0.3:2381 (the source host's address"
                        + " becomes this host's)",
                "changed: ETCD_ADVERTISE_CLIENT_URLS http://10.0.0.1:2379 -> http://10.0.0.3:22379 (from the plan)");
    }

    @Test
    void withoutAFileAndWithoutASourceHostNothingIsCarried() throws Exception {
        ClusterPlan plan = load("");
        MemberPlan m = plan.members().get(2);
        Optional<CarryOver.OldEnv> old = CarryOver.envFor(m, Map.of(), Map.of(), Optional.empty());
        assertThat(old).isEmpty();
        assertThat(CarryOver.sourceHost(plan, URI.create("http://10.9.9.9:2379"), Map.of())).isEmpty();

        CarryOver.Result r = CarryOver.of(plan, m, old, 0);
        assertThat(r.settings()).isEmpty();
        assertThat(r.errors()).isEmpty();
        assertThat(r.lines()).singleElement().asString()
                .startsWith("no etcd setting found in the old member's unit, env files, flags or config file on this host");
    }

    @Test
    void whatWouldBreakTheRestoredMemberIsChangedOrDroppedAndReported() throws Exception {
        ClusterPlan plan = load("        data_dir: /var/lib/etcd/new.etcd\n");
        CarryOver.Result r = own(plan, 0, 0, "ETCD_NAME=old-name", "ETCD_DATA_DIR=/var/lib/etcd/default",
                "ETCD_INITIAL_CLUSTER=old-name=http://10.0.0.1:2380,gone=http://10.0.0.7:2380",
                "ETCD_INITIAL_CLUSTER_STATE=existing", "ETCD_INITIAL_CLUSTER_TOKEN=etcd-cluster",
                "ETCD_LISTEN_PEER_URLS=http://10.0.0.1:2380", "ETCD_INITIAL_ADVERTISE_PEER_URLS=http://10.0.0.1:2380",
                "ETCD_FORCE_NEW_CLUSTER=true", "ETCD_DISCOVERY_SRV=example.com", "ETCD_DEBUG=true", "ETCD_STRICT_RECONFIG_CHECK=false");

        assertThat(r.settings()).isEmpty();
        assertThat(r.errors()).isEmpty();
        assertThat(r.lines()).containsExactly(
                "changed: ETCD_NAME old-name -> beta-0 (from the plan)",
                "changed: ETCD_DATA_DIR /var/lib/etcd/default -> /var/lib/etcd/new.etcd (from the plan)",
                "changed: ETCD_INITIAL_CLUSTER old-name=http://10.0.0.1:2380,gone=http://10.0.0.7:2380 -> " + plan.initialCluster()
                        + " (from the plan)",
                "changed: ETCD_INITIAL_CLUSTER_STATE existing -> new (a restored member starts a new cluster;"
                        + " with existing it would wait to join a cluster that is gone)",
                "changed: ETCD_INITIAL_CLUSTER_TOKEN etcd-cluster -> beta-restored (from the plan)",
                "changed: ETCD_LISTEN_PEER_URLS http://10.0.0.1:2380 -> http://10.0.0.1:22380 (from the plan)",
                "changed: ETCD_INITIAL_ADVERTISE_PEER_URLS http://10.0.0.1:2380 -> http://10.0.0.1:22380 (from the plan)",
                "dropped: ETCD_FORCE_NEW_CLUSTER=true (it would make a one-member cluster on every host;"
                        + " the members are restored together)",
                "dropped: ETCD_DISCOVERY_SRV=example.com (the restored members find each other through the initial cluster,"
                        + " not discovery)",
                r.lines().get(9), r.lines().get(10));
        assertThat(r.lines().get(9)).startsWith("not carried: ETCD_DEBUG=true (not a setting etcd-rescue carries over;");
        assertThat(r.lines().get(10)).startsWith("not carried: ETCD_STRICT_RECONFIG_CHECK=false");
        assertThat(own(plan, 0, 0, "ETCD_INITIAL_CLUSTER_STATE=new", "ETCD_NAME=beta-0").lines())
                .as("what already agrees with the plan is not worth a line").isEmpty();
    }

    @Test
    void theInventoryWinsOverTheOldFile() throws Exception {
        ClusterPlan plan = load("""
                        heartbeat_interval_ms: 300
                        election_timeout_ms: 3000
                        etcd_settings:
                          quota_backend_bytes: 8589934592
                          snapshot_count: 10000
                """);
        MemberPlan m = plan.members().get(0);
        CarryOver.Result r = own(plan, 0, 0, "ETCD_QUOTA_BACKEND_BYTES=4294967296", "ETCD_HEARTBEAT_INTERVAL=200",
                "ETCD_ELECTION_TIMEOUT=2000", "ETCD_SNAPSHOT_COUNT=10000", "ETCD_LOG_LEVEL=warn");

        assertThat(r.settings()).containsExactly(Map.entry("ETCD_LOG_LEVEL", "warn"));
        assertThat(r.lines()).containsExactly(
                "inventory wins: ETCD_QUOTA_BACKEND_BYTES=8589934592 (the old member had 4294967296)",
                "inventory wins: ETCD_HEARTBEAT_INTERVAL=300 (the old member had 200)",
                "inventory wins: ETCD_ELECTION_TIMEOUT=3000 (the old member had 2000)",
                "carried: ETCD_LOG_LEVEL=warn");
        assertThat(asMap(MemberSpecs.extras(CarryOver.merged(m, r.settings())))).containsExactly(
                Map.entry("ETCD_HEARTBEAT_INTERVAL", "300"), Map.entry("ETCD_ELECTION_TIMEOUT", "3000"),
                Map.entry("ETCD_QUOTA_BACKEND_BYTES", "8589934592"), Map.entry("ETCD_SNAPSHOT_COUNT", "10000"),
                Map.entry("ETCD_LOG_LEVEL", "warn"));
    }

    @Test
    void timersThatEtcdWouldRefuseTogetherAreAnError() throws Exception {
        ClusterPlan plan = load("        election_timeout_ms: 1000\n");
        CarryOver.Result r = own(plan, 0, 0, "ETCD_HEARTBEAT_INTERVAL=300");

        assertThat(r.errors()).singleElement().asString().startsWith("election timeout 1000 ms is less than 5 x the heartbeat"
                + " interval 300 ms (from the inventory and the old env file together): etcd would refuse to start.");
        assertThat(own(load(""), 0, 0, "ETCD_HEARTBEAT_INTERVAL=100", "ETCD_ELECTION_TIMEOUT=60000").errors())
                .singleElement().asString().contains("above etcd's limit of 50000");
    }

    @Test
    void httpsWithoutTlsInTheInventoryIsAnErrorNamingWhatToSet() throws Exception {
        CarryOver.Result r = own(load(""), 0, 0, "ETCD_LISTEN_CLIENT_URLS=https://10.0.0.1:2379",
                "ETCD_CERT_FILE=/etc/etcd/server.pem", "ETCD_KEY_FILE=/etc/etcd/server-key.pem", "ETCD_QUOTA_BACKEND_BYTES=4294967296");

        assertThat(r.errors()).singleElement().asString()
                .contains("the old member serves https (ETCD_LISTEN_CLIENT_URLS=https://10.0.0.1:2379;"
                        + " its TLS files: ETCD_CERT_FILE=/etc/etcd/server.pem, ETCD_KEY_FILE=/etc/etcd/server-key.pem)")
                .contains("the new member would come up plain http while clients expect https")
                .contains("scheme: https", "etcd_cert_file", "etcd_key_file", "etcd_ca_file");
        assertThat(r.settings()).doesNotContainKeys("ETCD_CERT_FILE", "ETCD_KEY_FILE");
    }

    @Test
    void tlsFilesComeFromTheInventoryWhenItGivesTls() throws Exception {
        ClusterPlan plan = load("""
                        scheme: https
                        snapshot_endpoints: [https://10.0.0.1:2379]
                        etcd_cert_file: /etc/etcd/pki/member.pem
                        etcd_key_file: /etc/etcd/pki/member-key.pem
                        etcd_ca_file: /etc/etcd/pki/ca.pem
                        etcd_client_ca: ca.pem
                        etcd_client_cert: client.pem
                        etcd_client_key: client-key.pem
                """.replace("        snapshot_endpoints: [https://10.0.0.1:2379]\n", ""));
        CarryOver.Result r = own(plan, 0, 0, "ETCD_LISTEN_CLIENT_URLS=https://10.0.0.1:2379", "ETCD_CERT_FILE=/old/server.pem",
                "ETCD_KEY_FILE=/old/server-key.pem", "ETCD_CLIENT_CERT_AUTH=true");

        assertThat(r.errors()).isEmpty();
        assertThat(r.settings()).isEmpty();
        assertThat(r.lines()).contains("from the inventory: the TLS settings (the old file's ETCD_CERT_FILE, ETCD_KEY_FILE,"
                + " ETCD_CLIENT_CERT_AUTH are not carried)");
        assertThat(asMap(MemberSpecs.extras(CarryOver.merged(plan.members().get(0), r.settings()))))
                .containsEntry("ETCD_CERT_FILE", "/etc/etcd/pki/member.pem");
    }

    @Test
    void tlsFilesOfAnHttpMemberAreNotCarried() throws Exception {
        CarryOver.Result r = own(load(""), 0, 0, "ETCD_PEER_CERT_FILE=/old/peer.pem", "ETCD_PEER_KEY_FILE=/old/peer-key.pem");

        assertThat(r.errors()).isEmpty();
        assertThat(r.settings()).isEmpty();
        assertThat(r.lines()).singleElement().asString().startsWith("not carried: ETCD_PEER_CERT_FILE, ETCD_PEER_KEY_FILE"
                + " (the old member's URLs are http;");
    }

    @Test
    void theQuotaIsRaisedAfterTheMergeForASnapshotLargerThanTheCarriedQuota() throws Exception {
        ClusterPlan plan = load("");
        MemberPlan m = plan.members().get(0);
        MemberPlan four = CarryOver.merged(m, own(plan, 0, 0, "ETCD_QUOTA_BACKEND_BYTES=" + 4 * GIB).settings());
        MemberPlan sixteen = CarryOver.merged(m, own(plan, 0, 0, "ETCD_QUOTA_BACKEND_BYTES=" + 16 * GIB).settings());

        assertThat(asMap(MemberSpecs.extras(four, 5 * GIB))).containsEntry("ETCD_QUOTA_BACKEND_BYTES", Long.toString(10 * GIB));
        assertThat(MemberSpecs.quotaNote(four, 5 * GIB)).hasValueSatisfying(n -> assertThat(n).contains("configured " + 4 * GIB));
        assertThat(asMap(MemberSpecs.extras(sixteen, 5 * GIB))).containsEntry("ETCD_QUOTA_BACKEND_BYTES", Long.toString(16 * GIB));
        assertThat(asMap(MemberSpecs.extras(m, 3 * GIB))).as("nothing carried: etcd's default 2 GiB")
                .containsEntry("ETCD_QUOTA_BACKEND_BYTES", Long.toString(6 * GIB));
    }

    private static Map<String, String> asMap(List<EnvSetting> settings) {
        Map<String, String> map = new LinkedHashMap<>();
        settings.forEach(s -> map.put(s.getKey(), s.getValue()));
        return map;
    }
}
