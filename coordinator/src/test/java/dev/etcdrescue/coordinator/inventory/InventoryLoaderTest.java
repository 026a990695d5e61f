package dev.etcdrescue.coordinator.inventory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.coordinator.failure.FailureKind;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class InventoryLoaderTest {
    private static final Path EXAMPLE = Path.of("../deploy/examples/inventory.yaml");

    @TempDir Path dir;

    @Test
    void kubesprayExampleKeepsItsNamesAndCertificatesAndPutsTheDataDirBesideTheOld() {
        ClusterPlan cluster = InventoryLoader.load(Path.of("../deploy/examples/kubespray-inventory.yaml")).clusters().get(0);

        assertThat(cluster.members()).extracting(MemberPlan::etcdName).containsExactly("etcd1", "etcd2", "etcd3");
        MemberPlan second = cluster.members().get(1);
        assertThat(second.clientUrls()).containsExactly(URI.create("https://10.0.0.12:22379"));
        assertThat(second.tls().certFile()).isEqualTo("/etc/ssl/etcd/ssl/member-etcd2.pem");
        assertThat(second.tls().keyFile()).isEqualTo("/etc/ssl/etcd/ssl/member-etcd2-key.pem");
        assertThat(second.tls().caFile()).isEqualTo("/etc/ssl/etcd/ssl/ca.pem");
        assertThat(second.dataDir()).isEqualTo("/var/lib/etcd-new").doesNotStartWith("/var/lib/etcd/");
    }

    @Test
    void exampleInventoryIsTheSeedsCluster() {
        Inventory inventory = InventoryLoader.load(EXAMPLE);

        assertThat(inventory.clusters()).hasSize(1);
        ClusterPlan beta = inventory.clusters().get(0);
        assertThat(beta.name()).isEqualTo("lv-etcd-research-beta");
        assertThat(beta.token()).isEqualTo("lv-etcd-research-beta");
        assertThat(beta.snapshot()).isEqualTo(new SnapshotSource.Endpoints(List.of(URI.create("http://192.168.149.60:2379"))));
        assertThat(beta.tlsDir()).isEqualTo(EXAMPLE.toAbsolutePath().getParent().resolve("pki").normalize());
        assertThat(beta.members()).extracting(MemberPlan::hostName).containsExactly(
                "lv-etcd-research-beta-0", "lv-etcd-research-beta-1", "lv-etcd-research-beta-2",
                "lv-etcd-research-beta-3", "lv-etcd-research-beta-4");
        assertThat(beta.members()).extracting(MemberPlan::address).containsExactly(
                "192.168.149.60", "192.168.149.63", "192.168.149.61", "192.168.149.62", "192.168.149.64");
        MemberPlan first = beta.members().get(1);
        assertThat(first.etcdName()).isEqualTo("lv-etcd-research-beta-1");
        assertThat(first.peerUrls()).containsExactly(URI.create("http://192.168.149.63:22380"));
        assertThat(first.clientUrls()).containsExactly(URI.create("http://192.168.149.63:22379"));
        assertThat(first.listenPeerUrls()).isEqualTo(first.peerUrls());
        assertThat(first.listenClientUrls()).isEqualTo(first.clientUrls());
        assertThat(first.agentHost()).isEqualTo("192.168.149.63");
        assertThat(first.agentPort()).isEqualTo(7443);
        assertThat(first.dataDir()).isEqualTo("/var/lib/etcd/new.etcd");
        assertThat(first.walDir()).isNull();
        assertThat(first.newUnit()).isEqualTo("etcd_new");
        assertThat(first.oldUnit()).isEqualTo("etcd");
        assertThat(first.heartbeatIntervalMs()).isNull();
        assertThat(first.electionTimeoutMs()).isNull();
        assertThat(beta.initialCluster()).isEqualTo(
                "lv-etcd-research-beta-0=http://192.168.149.60:22380,"
                + "lv-etcd-research-beta-1=http://192.168.149.63:22380,"
                + "lv-etcd-research-beta-2=http://192.168.149.61:22380,"
                + "lv-etcd-research-beta-3=http://192.168.149.62:22380,"
                + "lv-etcd-research-beta-4=http://192.168.149.64:22380");
    }

    @Test
    void nearestVariableWinsFromAllVarsThroughNestedGroupsToTheHost() throws Exception {
        Inventory inventory = load("""
                all:
                  vars:
                    cluster_token: t
                    snapshot_file: backups/snap.db
                    peer_port: 1001
                    client_port: 1002
                    agent_port: 1003
                    new_unit: from_all
                  children:
                    prod:
                      vars:
                        peer_port: 2001
                        client_port: 2002
                        tls_dir: /etc/etcd-rescue/pki
                      children:
                        beta:
                          vars:
                            peer_port: 3001
                            new_unit: etcd_beta.service
                          hosts:
                            b0:
                              address: 127.0.0.1
                              peer_port: 4001
                            b1:
                              address: 127.0.0.2
                """);
        ClusterPlan beta = inventory.clusters().get(0);
        assertThat(beta.name()).isEqualTo("beta");
        assertThat(beta.snapshot()).isEqualTo(new SnapshotSource.File(dir.resolve("backups/snap.db")));
        assertThat(beta.tlsDir()).isEqualTo(Path.of("/etc/etcd-rescue/pki"));
        MemberPlan b0 = beta.members().get(0);
        MemberPlan b1 = beta.members().get(1);
        assertThat(b0.peerUrls()).containsExactly(URI.create("http://127.0.0.1:4001"));
        assertThat(b1.peerUrls()).containsExactly(URI.create("http://127.0.0.2:3001"));
        assertThat(b0.clientUrls()).containsExactly(URI.create("http://127.0.0.1:2002"));
        assertThat(b0.agentPort()).isEqualTo(1003);
        assertThat(b0.newUnit()).isEqualTo("etcd_beta");
    }

    @Test
    void explicitValuesAreKept() throws Exception {
        ClusterPlan c = load("""
                all:
                  children:
                    c:
                      vars: {cluster_token: tok, snapshot_endpoints: ["https://10.0.0.9:2379"], scheme: https,
                             etcd_cert_file: /etc/etcd/pki/member.pem, etcd_key_file: /etc/etcd/pki/member-key.pem,
                             etcd_ca_file: /etc/etcd/pki/ca.pem, etcd_client_ca: ca.pem, etcd_client_cert: c.pem, etcd_client_key: k.pem}
                      hosts:
                        h-0:
                          address: etcd0.example.org
                          etcd_name: infra0
                          agent_endpoint: 10.0.0.1:9000
                          peer_urls: [https://etcd0.example.org:2380]
                          client_urls: [https://ETCD0.example.org:2379/]
                          listen_peer_urls: [https://0.0.0.0:2380]
                          listen_client_urls: [https://0.0.0.0:2379, https://127.0.0.1:2379]
                          data_dir: /var/lib/etcd/restored/
                          wal_dir: /var/lib/etcd-wal/restored
                          old_unit: etcd.service
                          heartbeat_interval_ms: 200
                          election_timeout_ms: 2000
                """).clusters().get(0);
        MemberPlan m = c.members().get(0);
        assertThat(m.etcdName()).isEqualTo("infra0");
        assertThat(m.agentHost()).isEqualTo("10.0.0.1");
        assertThat(m.agentPort()).isEqualTo(9000);
        assertThat(m.peerUrls()).containsExactly(URI.create("https://etcd0.example.org:2380"));
        assertThat(m.clientUrls()).containsExactly(URI.create("https://etcd0.example.org:2379"));
        assertThat(m.listenClientUrls()).containsExactly(URI.create("https://0.0.0.0:2379"), URI.create("https://127.0.0.1:2379"));
        assertThat(m.dataDir()).isEqualTo("/var/lib/etcd/restored");
        assertThat(m.walDir()).isEqualTo("/var/lib/etcd-wal/restored");
        assertThat(m.oldUnit()).isEqualTo("etcd");
        assertThat(m.heartbeatIntervalMs()).isEqualTo(200);
        assertThat(m.electionTimeoutMs()).isEqualTo(2000);
        assertThat(c.snapshot()).isEqualTo(new SnapshotSource.Endpoints(List.of(URI.create("https://10.0.0.9:2379"))));
    }

    @Test
    void ipv6AddressesGetBracketsInUrls() throws Exception {
        MemberPlan m = load(cluster("""
                    h0:
                      address: "fd00::1"
                """)).clusters().get(0).members().get(0);
        assertThat(m.peerUrls()).containsExactly(URI.create("http://[fd00::1]:22380"));
        assertThat(m.agentHost()).isEqualTo("fd00::1");
        assertThat(m.agentEndpoint()).hasToString("[fd00::1]:7443");
    }

    @Test
    void unknownVariableIsNamedWithItsLineAndTheAllowedKeys() throws Exception {
        assertProblems(cluster("""
                    h0:
                      address: 127.0.0.1
                      peer_prot: 2380
                """), "inventory.yaml:10: cluster c, host h0, peer_prot: unknown variable 'peer_prot' (did you mean 'peer_port'?); "
                + "allowed: address, agent_port");
    }

    @Test
    void unknownGroupKeyIsNamed() throws Exception {
        assertProblems("""
                all:
                  children:
                    c:
                      host:
                        h0: {address: 127.0.0.1}
                """, "inventory.yaml:4: group c: unknown key 'host'; a group holds vars, children, hosts");
    }

    @Test
    void missingAddressIsReportedAtTheHost() throws Exception {
        assertProblems(cluster("""
                    h0:
                      etcd_name: a
                """), "inventory.yaml:8: cluster c, host h0, address: missing");
    }

    @Test
    void badAddressIsReported() throws Exception {
        assertProblems(cluster("""
                    h0:
                      address: "not an address"
                """), "inventory.yaml:9: cluster c, host h0, address: 'not an address' is neither an IP address nor a DNS name");
    }

    @Test
    void emptyClusterIsReported() throws Exception {
        assertProblems("""
                all:
                  vars:
                    cluster_token: t
                  children:
                    c:
                      hosts:
                """, "inventory.yaml:6: cluster c, hosts: the cluster has no hosts");
    }

    @Test
    void hostInTwoClustersIsReported() throws Exception {
        assertProblems("""
                all:
                  vars: {cluster_token: t, snapshot_file: s.db}
                  children:
                    a:
                      hosts:
                        h0: {address: 127.0.0.1}
                    b:
                      hosts:
                        h0: {address: 127.0.0.1}
                """, "inventory.yaml:9: cluster b, host h0: is also a host of cluster a (inventory.yaml:6)");
    }

    @Test
    void duplicateEtcdNamesAreReported() throws Exception {
        assertProblems(cluster("""
                    h0:
                      address: 127.0.0.1
                      etcd_name: same
                    h1:
                      address: 127.0.0.2
                      etcd_name: same
                """), "inventory.yaml:13: cluster c, host h1, etcd_name: 'same' is also the member name of host h0");
    }

    @Test
    void invalidEtcdNameFromHostKeyAsksForEtcdName() throws Exception {
        assertProblems(cluster("""
                    "h 0":
                      address: 127.0.0.1
                """), "inventory.yaml:8: cluster c, host h 0, etcd_name: 'h 0' is not a valid member name",
                "set etcd_name");
    }

    @Test
    void clientUrlOfAnotherHostIsNamedByItsOwner() throws Exception {
        assertProblems(cluster("""
                    beta-0:
                      address: 192.168.149.60
                    beta-1:
                      address: 192.168.149.63
                      client_urls:
                        - http://192.168.149.60:22379
                """), "inventory.yaml:13: cluster c, host beta-1, client_urls: http://192.168.149.60:22379 is the address "
                + "of host beta-0, not of this host (192.168.149.63)",
                "inventory.yaml:13: cluster c, host beta-1, client_urls: http://192.168.149.60:22379 is also in beta-0's client_urls");
    }

    @Test
    void urlOfNoKnownHostIsReported() throws Exception {
        assertProblems(cluster("""
                    h0:
                      address: 127.0.0.1
                      peer_urls: [http://127.0.0.9:2380]
                """), "inventory.yaml:10: cluster c, host h0, peer_urls: http://127.0.0.9:2380 is not this host's address 127.0.0.1");
    }

    @Test
    void duplicatePeerUrlsAndAgentEndpointsAreReported() throws Exception {
        assertProblems(cluster("""
                    h0:
                      address: 127.0.0.1
                    h1:
                      address: 127.0.0.1
                """), "inventory.yaml:11: cluster c, host h1, peer_urls: http://127.0.0.1:22380 is also in h0's peer_urls",
                "inventory.yaml:11: cluster c, host h1, client_urls: http://127.0.0.1:22379 is also in h0's client_urls",
                "inventory.yaml:10: cluster c, host h1, agent_endpoint: 127.0.0.1:7443 is also the agent of host h0");
    }

    @Test
    void peerPortEqualToClientPortIsReported() throws Exception {
        assertProblems(cluster("""
                    h0:
                      address: 127.0.0.1
                      peer_port: 2379
                      client_port: 2379
                """), "client_urls: http://127.0.0.1:2379 is also in h0's peer_urls");
    }

    @Test
    void malformedUrlsAreReported() throws Exception {
        assertProblems(cluster("""
                    h0:
                      address: 127.0.0.1
                      peer_urls:
                        - https://127.0.0.1:2380
                        - http://127.0.0.1
                        - http://127.0.0.1:2381/path
                        - http://127.0.0.1:99999
                        - "::nonsense"
                """), "inventory.yaml:11: cluster c, host h0, peer_urls: 'https://127.0.0.1:2380' must start with http:// "
                + "(scheme is http for this host: fix the URL or set scheme: https)",
                "inventory.yaml:12: cluster c, host h0, peer_urls: 'http://127.0.0.1' has no port",
                "inventory.yaml:13: cluster c, host h0, peer_urls: 'http://127.0.0.1:2381/path' may hold only scheme, host and port",
                "inventory.yaml:14: cluster c, host h0, peer_urls: 'http://127.0.0.1:99999' has port 99999, outside 1-65535",
                "inventory.yaml:15: cluster c, host h0, peer_urls: '::nonsense' is not a URL");
    }

    @Test
    void portsOutOfRangeAreReported() throws Exception {
        assertProblems(cluster("""
                    h0:
                      address: 127.0.0.1
                      agent_port: 70000
                      peer_port: 0
                """), "inventory.yaml:10: cluster c, host h0, agent_port: 70000 is outside 1-65535",
                "inventory.yaml:11: cluster c, host h0, peer_port: 0 is outside 1-65535");
    }

    @Test
    void typeErrorsAreReported() throws Exception {
        assertProblems(cluster("""
                    h0:
                      address: 127.0.0.1
                      peer_urls: http://127.0.0.1:2380
                      client_port: "twenty"
                      data_dir: [a, b]
                """), "inventory.yaml:10: cluster c, host h0, peer_urls: must be a list (one '- item' per line, or [a, b]), "
                + "not the single value 'http://127.0.0.1:2380'",
                "inventory.yaml:11: cluster c, host h0, client_port: must be a whole number, not 'twenty'",
                "inventory.yaml:12: cluster c, host h0, data_dir: must be a single value, not a list");
    }

    @Test
    void directoriesMustBeAbsoluteWithoutDotDot() throws Exception {
        assertProblems(cluster("""
                    h0:
                      address: 127.0.0.1
                      data_dir: var/lib/etcd
                      wal_dir: /var/lib/../etc
                """), "inventory.yaml:10: cluster c, host h0, data_dir: 'var/lib/etcd' must be an absolute path",
                "inventory.yaml:11: cluster c, host h0, wal_dir: '/var/lib/../etc' must not contain '..'");
    }

    @Test
    void unitNamesAreCheckedAndMustDiffer() throws Exception {
        assertProblems(cluster("""
                    h0:
                      address: 127.0.0.1
                      new_unit: "etcd new"
                    h1:
                      address: 127.0.0.2
                      new_unit: etcd.service
                """), "inventory.yaml:10: cluster c, host h0, new_unit: 'etcd new' is not a systemd service name",
                "inventory.yaml:13: cluster c, host h1, new_unit: is the same as old_unit 'etcd'");
    }

    @Test
    void baseUnitDefaultsToOldUnitAndIsKeptApartFromIt() throws Exception {
        ClusterPlan c = load("""
                all:
                  children:
                    c:
                      vars: {cluster_token: tok, snapshot_file: snap.db, old_unit: etcd-old}
                      hosts:
                        h0:
                          address: 127.0.0.1
                        h1:
                          address: 127.0.0.2
                          base_unit: etcd.service
                """).clusters().get(0);

        assertThat(c.members().get(0).baseUnit()).as("default: old_unit").isEqualTo("etcd-old");
        assertThat(c.members().get(1).baseUnit()).isEqualTo("etcd");
        assertThat(c.members().get(1).oldUnit()).as("still the unit stopped at cut-over").isEqualTo("etcd-old");
    }

    @Test
    void baseUnitIsCheckedLikeTheOtherUnits() throws Exception {
        assertProblems(cluster("""
                    h0:
                      address: 127.0.0.1
                      base_unit: "etcd base"
                    h1:
                      address: 127.0.0.2
                      base_unit: etcd_new.service
                    h2:
                      address: 127.0.0.3
                      base_unit: [etcd]
                """), "inventory.yaml:10: cluster c, host h0, base_unit: 'etcd base' is not a systemd service name",
                "inventory.yaml:13: cluster c, host h1, base_unit: is the same as new_unit 'etcd_new'",
                "inventory.yaml:16: cluster c, host h2, base_unit: must be a single value, not a list");
    }

    @Test
    void electionTimeoutMustBeFiveHeartbeats() throws Exception {
        assertProblems(cluster("""
                    h0:
                      address: 127.0.0.1
                      heartbeat_interval_ms: 300
                      election_timeout_ms: 1000
                    h1:
                      address: 127.0.0.2
                      heartbeat_interval_ms: 500
                    h2:
                      address: 127.0.0.3
                      heartbeat_interval_ms: 0
                """), "inventory.yaml:11: cluster c, host h0, election_timeout_ms: etcd requires election_timeout_ms (1000) "
                + "to be at least 5 times heartbeat_interval_ms (300): raise election_timeout_ms to 1500 or more",
                "inventory.yaml:14: cluster c, host h1, heartbeat_interval_ms: etcd requires election_timeout_ms (1000, etcd's default)",
                "inventory.yaml:17: cluster c, host h2, heartbeat_interval_ms: must be a positive number");
    }

    @Test
    void clusterLevelVariablesMustAgree() throws Exception {
        assertProblems("""
                all:
                  children:
                    c:
                      vars:
                        cluster_token: t
                        snapshot_file: s.db
                      hosts:
                        h0:
                          address: 127.0.0.1
                        h1:
                          address: 127.0.0.2
                          cluster_token: other
                """, "inventory.yaml:12: cluster c, host h1, cluster_token: is 'other' here but 't' for host h0 (inventory.yaml:5)",
                "set it once in the cluster group's vars");
    }

    @Test
    void clusterTokenIsRequiredAndChecked() throws Exception {
        assertProblems("""
                all:
                  vars: {snapshot_file: s.db}
                  children:
                    a:
                      hosts:
                        h0: {address: 127.0.0.1}
                    b:
                      vars: {cluster_token: "bad token"}
                      hosts:
                        h1: {address: 127.0.0.2}
                """, "inventory.yaml:4: cluster a, cluster_token: missing",
                "inventory.yaml:8: cluster b, cluster_token: 'bad token' may hold only");
    }

    @Test
    void exactlyOneSnapshotSource() throws Exception {
        assertProblems("""
                all:
                  vars: {cluster_token: t, snapshot_file: s.db}
                  children:
                    a:
                      vars:
                        snapshot_endpoints: [http://127.0.0.9:2379]
                      hosts:
                        h0: {address: 127.0.0.1}
                    b:
                      vars: {snapshot_file: null}
                      hosts:
                        h1: {address: 127.0.0.2}
                    c:
                      vars:
                        snapshot_endpoints: [ftp://x:1]
                      hosts:
                        h2: {address: 127.0.0.3}
                """, "inventory.yaml:2: cluster a, snapshot: both snapshot_endpoints (inventory.yaml:6) and snapshot_file "
                + "(inventory.yaml:2) are set: keep exactly one",
                "inventory.yaml:9: cluster b, snapshot: neither snapshot_endpoints nor snapshot_file is set",
                "inventory.yaml:2: cluster c, snapshot: both");
    }

    @Test
    void snapshotEndpointsMustBeHttpUrls() throws Exception {
        assertProblems("""
                all:
                  vars: {cluster_token: t}
                  children:
                    a:
                      vars:
                        snapshot_endpoints: [ftp://x:1]
                      hosts:
                        h0: {address: 127.0.0.1}
                """, "inventory.yaml:6: cluster a, snapshot_endpoints: 'ftp://x:1' must start with http://, https://");
    }

    @Test
    void allProblemsAreReportedAtOnce() throws Exception {
        Path file = write(cluster("""
                    h0:
                      peer_port: x
                    h1:
                      address: 127.0.0.2
                      bogus: 1
                """));
        assertThatThrownBy(() -> InventoryLoader.load(file))
                .isInstanceOfSatisfying(InventoryException.class, e -> {
                    assertThat(e.kind()).isEqualTo(FailureKind.BAD_INPUT);
                    assertThat(e.problems()).hasSize(3);
                    assertThat(e.getMessage()).startsWith("inventory " + file + " has 3 problems:\n");
                    assertThat(e.getMessage().lines()).hasSize(4);
                });
    }

    @Test
    void duplicateKeysAndBadYamlAreReportedWithLines() throws Exception {
        assertProblems(cluster("""
                    h0:
                      address: 127.0.0.1
                      address: 127.0.0.2
                """), "inventory.yaml:10: host h0: 'address' appears twice (also at inventory.yaml:9)");
        assertProblems("all:\n  children: [\n", "inventory.yaml:3: not valid YAML");
    }

    @Test
    void limitSelectsClustersByClusterOrHostName() throws Exception {
        Inventory inventory = load("""
                all:
                  vars: {cluster_token: t, snapshot_file: s.db}
                  children:
                    a:
                      hosts: {a0: {address: 127.0.0.1}}
                    b:
                      hosts: {b0: {address: 127.0.0.2}, b1: {address: 127.0.0.3}}
                    c:
                      hosts: {c0: {address: 127.0.0.4}}
                """);
        assertThat(inventory.limit("c,a").clusters()).extracting(ClusterPlan::name).containsExactly("a", "c");
        Inventory byHost = inventory.limit("b1");
        assertThat(byHost.clusters()).extracting(ClusterPlan::name).containsExactly("b");
        assertThat(byHost.clusters().get(0).members()).hasSize(2);
        assertThatThrownBy(() -> inventory.limit("a,zz"))
                .isInstanceOf(InventoryException.class)
                .hasMessageContaining("'zz' is neither a cluster nor a host")
                .hasMessageContaining("clusters: a, b, c");
    }

    @Test
    void aMissingOrUnreadableInventoryIsNamedInPlainWords() throws Exception {
        Path missing = dir.resolve("nope.yaml");
        assertThatThrownBy(() -> InventoryLoader.load(missing))
                .isInstanceOf(InventoryException.class)
                .hasMessage("cannot read inventory " + missing + ": no such file or directory: " + missing
                        + " (the file given with -i)");
        assertThatThrownBy(() -> InventoryLoader.load(dir))
                .isInstanceOf(InventoryException.class)
                .hasMessageStartingWith("cannot read inventory " + dir + ": ")
                .hasMessageNotContaining("java.");
    }

    private Inventory load(String yaml) throws Exception {
        return InventoryLoader.load(write(yaml));
    }

    private Path write(String yaml) throws Exception {
        Path file = dir.resolve("inventory.yaml");
        Files.writeString(file, yaml);
        return file;
    }

    /** One cluster 'c' (lines 1-7) whose hosts start on line 8. */
    private static String cluster(String hosts) {
        return """
                all:
                  vars:
                    cluster_token: t
                    snapshot_file: s.db
                  children:
                    c:
                      hosts:
                """ + hosts.indent(4);
    }

    private void assertProblems(String yaml, String... expected) throws Exception {
        Path file = write(yaml);
        assertThatThrownBy(() -> InventoryLoader.load(file))
                .isInstanceOfSatisfying(InventoryException.class, e -> {
                    assertThat(e.kind()).isEqualTo(FailureKind.BAD_INPUT);
                    for (String text : expected) {
                        String withPath = text.replace("inventory.yaml", file.toString());
                        assertThat(e.problems()).as("problems of\n%s", yaml)
                                .anySatisfy(problem -> assertThat(problem).contains(withPath));
                    }
                });
    }
}
