package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.Pem;
import dev.etcdrescue.pki.TlsContexts;
import dev.etcdrescue.systemtest.testbed.OldCluster;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * {@code etcd-rescue snapshot save --via-agent} on a running TLS cluster of three testbed hosts: the
 * agent on one host snapshots its own member over https with the member's own certificate (paths on
 * the host, from the inventory) and streams the file here; the file agrees with etcdctl and holds
 * every key. An existing output file is refused before anything is asked of the agent.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class SnapshotThroughAgentTest {
    private static final int KEYS = 300;
    private static final String ETCDCTL = "/usr/bin/etcdctl";
    private Testbed testbed;
    private Path work;
    private Path inventory;
    private long revision;
    private final Map<String, String> written = new TreeMap<>();

    @BeforeAll
    void aRunningTlsCluster() throws Exception {
        testbed = Testbed.create(3, Testbed.Options.defaults().withHostPrefix("snap"));
        work = Files.createTempDirectory("etcd-rescue-snap-");
        testbed.installAgents(work.resolve("pki"));
        CertificateAuthority etcdCa = CertificateAuthority.create("snap etcd CA", Duration.ofDays(1));
        OldCluster.startTls(testbed.hosts(), "old-snap", etcdCa);

        Path client = Files.createDirectories(work.resolve("etcd-pki/client"));
        Files.writeString(client.resolve("ca.pem"), Pem.toPem(etcdCa.certificate()));
        IssuedCertificate root = etcdCa.issueEtcdClient("root", Duration.ofDays(1));
        root.writeTo(client.resolve("client.pem"), client.resolve("client-key.pem"));

        try (Client c = tlsClient(URI.create(OldCluster.tlsClientUrl(testbed.host(0))))) {
            List<Op> ops = new ArrayList<>();
            for (int i = 0; i < KEYS; i++) {
                String key = String.format("/registry/snap/%04d", i);
                written.put(key, "v" + i);
                ops.add(Op.put(bytes(key), bytes("v" + i), PutOption.DEFAULT));
                if (ops.size() == 100) {
                    c.getKVClient().txn().Then(ops.toArray(Op[]::new)).commit().get(30, TimeUnit.SECONDS);
                    ops.clear();
                }
            }
            revision = c.getKVClient().get(bytes("/registry/snap/0000")).get(10, TimeUnit.SECONDS).getHeader().getRevision();
        }
        inventory = Files.writeString(work.resolve("inventory.yaml"), inventoryYaml());
    }

    /** The old member's own TLS files as the etcd_*_file paths: the agent presents them to its member. */
    private String inventoryYaml() {
        StringBuilder y = new StringBuilder("all:\n  vars:\n    agent_port: 7443\n    tls_dir: " + work.resolve("pki") + "\n");
        y.append("""
                  children:
                    snap:
                      vars:
                        cluster_token: snap-restored
                        old_unit: etcd
                        new_unit: etcd_new
                        peer_port: 22380
                        client_port: 22379
                        scheme: https
                        etcd_cert_file: /etc/etcd/pki/member.pem
                        etcd_key_file: /etc/etcd/pki/member-key.pem
                        etcd_ca_file: /etc/etcd/pki/ca.pem
                        etcd_client_ca: etcd-pki/client/ca.pem
                        etcd_client_cert: etcd-pki/client/client.pem
                        etcd_client_key: etcd-pki/client/client-key.pem
                """);
        return y.append(Inventories.tlsEndpointsAndHosts(testbed.hosts())).toString();
    }

    @AfterAll
    void tearDown() throws Exception {
        if (testbed != null) {
            testbed.close();
        }
        Trees.delete(work);
    }

    @Test
    @Order(1)
    void theAgentSnapshotsItsMemberAndTheFileHoldsEveryKey() throws Exception {
        TestHost host = testbed.host(1);
        Path out = work.resolve("backup.db");
        long t0 = System.nanoTime();
        Cli.Result r = Cli.etcdRescue("snapshot", "save", "-i", inventory.toString(), "--via-agent", host.name(),
                out.toString(), "-w", "json");
        System.out.printf("snapshot save --via-agent took %.1fs%n", (System.nanoTime() - t0) / 1e9);
        assertThat(r.exitCode()).as(r.all()).isZero();
        JsonNode saved = new ObjectMapper().readTree(r.stdout());
        JsonNode etcdctl = new ObjectMapper().readTree(run(ETCDCTL, "snapshot", "status", out.toString(), "-w", "json"));

        assertThat(saved.get("revision").asLong()).isEqualTo(revision).isEqualTo(etcdctl.get("revision").asLong());
        assertThat(saved.get("totalKey").asLong()).isEqualTo(etcdctl.get("totalKey").asLong()).isGreaterThanOrEqualTo(KEYS);
        assertThat(saved.get("hash").asLong()).isEqualTo(etcdctl.get("hash").asLong());
        assertThat(saved.get("sha256").asText()).isEqualTo(Trees.sha256(out));
        assertThat(saved.get("size").asLong()).isEqualTo(Files.size(out));
        assertThat(saved.get("trailer").asText()).isEqualTo("valid");
        assertThat(saved.get("endpoint").asText()).isEqualTo(OldCluster.tlsClientUrl(host));
        assertThat(saved.get("viaAgent").asText()).isEqualTo(host.name());
        assertThat(work.resolve("backup.db.part")).doesNotExist();

        System.out.println(host.readFile("/var/lib/etcd-rescue-agent/audit.log"));
        assertThat(host.readFile("/var/lib/etcd-rescue-agent/audit.log"))
                .contains("DownloadSnapshot local " + OldCluster.tlsClientUrl(host)).contains("OK");
        assertThat(host.exec(Duration.ofSeconds(10), "sh", "-c", "ls /var/lib/etcd-rescue-agent/staging").stdout())
                .as("the agent removed its temporary snapshot").doesNotContain("local-snapshot-");
        assertThat(host.unitState("etcd")).isEqualTo("active");

        assertThat(restoredKeys(out)).isEqualTo(written);
    }

    @Test
    @Order(2)
    void anExistingFileIsRefusedAndLeftAlone() throws Exception {
        Path existing = Files.writeString(work.resolve("existing.db"), "not to be replaced");
        Cli.Result r = Cli.etcdRescue("snapshot", "save", "-i", inventory.toString(), "--via-agent", testbed.host(0).name(),
                existing.toString());
        assertThat(r.exitCode()).as(r.all()).isEqualTo(2);
        assertThat(r.stderr()).contains("refusing to overwrite " + existing).doesNotContain("Exception");
        assertThat(Files.readString(existing)).isEqualTo("not to be replaced");
        assertThat(work.resolve("existing.db.part")).doesNotExist();
    }

    @Test
    @Order(3)
    void theAgentRefusesAnEndpointOfAnotherMachine() throws Exception {
        Path out = work.resolve("foreign.db");
        Cli.Result r = Cli.etcdRescue("snapshot", "save", "-i", inventory.toString(), "--via-agent", testbed.host(0).name(),
                "--endpoint", "https://192.0.2.10:2379", out.toString());
        assertThat(r.exitCode()).as(r.all()).isEqualTo(1);
        assertThat(r.stderr()).contains("local.endpoint https://192.0.2.10:2379 is not an address of this host")
                .doesNotContain("Exception");
        assertThat(out).doesNotExist();
        assertThat(work.resolve("foreign.db.part")).as("a refusal leaves no partial file").doesNotExist();
        assertThat(testbed.host(0).exec(Duration.ofSeconds(10), "sh", "-c",
                "cat /var/lib/etcd-rescue-agent/claim.json 2>/dev/null || true").stdout())
                .as("the claim was released").doesNotContain("snapshot-");
    }

    /** Restores the file with etcdctl into a temp dir, starts a throwaway etcd on it and reads the keys back. */
    private Map<String, String> restoredKeys(Path snapshot) throws Exception {
        Path dir = work.resolve("restored");
        int peer = freePort();
        int clientPort = freePort();
        String peerUrl = "http://127.0.0.1:" + peer;
        run(ETCDCTL, "snapshot", "restore", snapshot.toString(), "--data-dir", dir.toString(), "--name", "r",
                "--initial-cluster", "r=" + peerUrl, "--initial-advertise-peer-urls", peerUrl);
        String clientUrl = "http://127.0.0.1:" + clientPort;
        Process etcd = new ProcessBuilder("/usr/bin/etcd", "--name", "r", "--data-dir", dir.toString(),
                "--listen-peer-urls", peerUrl, "--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl)
                .redirectErrorStream(true).redirectOutput(work.resolve("restored-etcd.log").toFile())
                .redirectInput(new File("/dev/null")).start();
        try (Client c = Client.builder().endpoints(URI.create(clientUrl)).connectTimeout(Duration.ofSeconds(5)).build()) {
            Map<String, String> keys = new TreeMap<>();
            List<KeyValue> kvs = c.getKVClient().get(bytes("/registry/snap/"),
                    GetOption.builder().isPrefix(true).build()).get(30, TimeUnit.SECONDS).getKvs();
            for (KeyValue kv : kvs) {
                keys.put(kv.getKey().toString(StandardCharsets.UTF_8), kv.getValue().toString(StandardCharsets.UTF_8));
            }
            return keys;
        } finally {
            etcd.toHandle().destroy();
            if (!etcd.waitFor(10, TimeUnit.SECONDS)) {
                etcd.toHandle().destroyForcibly();
                etcd.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    private Client tlsClient(URI url) throws Exception {
        Path client = work.resolve("etcd-pki/client");
        return Client.builder().authority(url.getHost() + ":" + url.getPort())
                .sslContext(TlsContexts.etcdClient(client.resolve("client.pem"), client.resolve("client-key.pem"),
                        client.resolve("ca.pem")))
                .endpoints(url).connectTimeout(Duration.ofSeconds(5)).build();
    }

    private static String run(String... argv) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectInput(new File("/dev/null")).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", argv) + " failed: " + out);
        }
        return out;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }
}
