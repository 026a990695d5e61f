package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.TlsContexts;
import dev.etcdrescue.systemtest.testbed.OldCluster;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.cluster.Member;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
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
 * A production-like old cluster on three testbed hosts: https client and peer URLs, client- and
 * peer-certificate auth, etcd's auth enabled (user root with a password). Two members die; one
 * {@code etcd-rescue recover} with an https inventory snapshots the survivor over TLS (client
 * certificate CN=root: a member without quorum cannot log a password in), restores new members with
 * certificates from {@code pki issue-etcd}, verifies over TLS logging in with the password file, and
 * the keys come back over TLS only.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class TlsEtcdTest {
    private static final int KEYS = 500;
    private static final String NEW_PKI = "/etc/etcd/pki/rescue";
    private static final String PASSWORD = "pw-" + Long.toHexString(System.nanoTime());
    private Testbed testbed;
    private Path work;
    private Path etcdPki;
    private Path inventory;
    private final Map<String, String> written = new TreeMap<>();

    @BeforeAll
    void threeTlsHostsLoseTwoMembers() throws Exception {
        testbed = Testbed.create(3, Testbed.Options.defaults().withHostPrefix("tls"));
        work = Files.createTempDirectory("etcd-rescue-tls-");
        testbed.installAgents(work.resolve("pki"));

        etcdPki = work.resolve("etcd-pki");
        Cli.Result init = Cli.etcdRescue("pki", "init-etcd-ca", "--ca-dir", etcdPki.toString());
        assertThat(init.exitCode()).as(init.all()).isZero();
        CertificateAuthority etcdCa = CertificateAuthority.load(etcdPki.resolve("ca.pem"), etcdPki.resolve("ca-key.pem"));
        OldCluster.startTls(testbed.hosts(), "old-tls", etcdCa);

        Files.writeString(work.resolve("etcd-password"), PASSWORD + "\n");
        inventory = Files.writeString(work.resolve("inventory.yaml"), inventoryYaml());
        Cli.Result issue = Cli.etcdRescue("pki", "issue-etcd", "--ca-dir", etcdPki.toString(), "-i", inventory.toString());
        assertThat(issue.exitCode()).as(issue.all()).isZero();
        for (TestHost h : testbed.hosts()) {
            Path issued = etcdPki.resolve("members").resolve(h.name());
            for (String file : List.of("ca.pem", "member.pem", "member-key.pem")) {
                h.writeFile(NEW_PKI + "/" + file, Files.readString(issued.resolve(file)));
            }
            h.execOk(Duration.ofSeconds(30), "sh", "-c", "chown -R etcd:etcd " + NEW_PKI + " && chmod 0600 " + NEW_PKI + "/member-key.pem");
        }

        TestHost survivor = testbed.host(2);
        URI oldUrl = URI.create(OldCluster.tlsClientUrl(survivor));
        try (Client c = tlsClient(oldUrl, true)) {
            List<Op> ops = new ArrayList<>();
            for (int i = 0; i < KEYS; i++) {
                String key = String.format("/registry/tls/%04d", i);
                written.put(key, "v" + i);
                ops.add(Op.put(bytes(key), bytes("v" + i), PutOption.DEFAULT));
                if (ops.size() == 100) {
                    c.getKVClient().txn().Then(ops.toArray(Op[]::new)).commit().get(30, TimeUnit.SECONDS);
                    ops.clear();
                }
            }
        }
        // etcd's auth on, as in production: from now on only root (by password, or a certificate with CN=root) may snapshot.
        String ctl = "etcdctl --endpoints=" + oldUrl + " --cacert=" + OldCluster.PKI_DIR + "/ca.pem --cert=" + OldCluster.PKI_DIR
                + "/member.pem --key=" + OldCluster.PKI_DIR + "/member-key.pem ";
        survivor.execOk(Duration.ofSeconds(60), "sh", "-c", ctl + "user add root:" + PASSWORD + " && " + ctl + "auth enable");

        testbed.killEtcdPermanently(testbed.host(0));
        testbed.killEtcdPermanently(testbed.host(1));
    }

    private String inventoryYaml() {
        StringBuilder y = new StringBuilder("""
                all:
                  vars:
                    agent_port: 7443
                """);
        y.append("    tls_dir: ").append(work.resolve("pki")).append('\n');
        y.append("""
                  children:
                    tls:
                      vars:
                        cluster_token: tls-restored
                        old_unit: etcd
                        new_unit: etcd_new
                        peer_port: 22380
                        client_port: 22379
                        heartbeat_interval_ms: 250
                        election_timeout_ms: 2500
                        scheme: https
                        etcd_cert_file: /etc/etcd/pki/rescue/member.pem
                        etcd_key_file: /etc/etcd/pki/rescue/member-key.pem
                        etcd_ca_file: /etc/etcd/pki/rescue/ca.pem
                        etcd_client_ca: etcd-pki/client/ca.pem
                        etcd_client_cert: etcd-pki/client/client.pem
                        etcd_client_key: etcd-pki/client/client-key.pem
                        etcd_user: root
                        etcd_password_file: etcd-password
                        etcd_settings:
                          snapshot_count: 5000
                          log_level: info
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
    void recoverOverTlsBringsEveryKeyBack() throws Exception {
        long t0 = System.nanoTime();
        Cli.Result r = Cli.etcdRescue("recover", "-i", inventory.toString(), "-w", "json", "--work-dir", work.resolve("runs").toString());
        System.out.printf("recover over TLS took %.1fs%n", (System.nanoTime() - t0) / 1e9);
        assertThat(r.exitCode()).as(r.all()).isZero();
        JsonNode report = new ObjectMapper().readTree(r.stdout());
        assertThat(report.get("success").asBoolean()).isTrue();
        assertThat(report.get("checks")).allSatisfy(c -> assertThat(c.get("ok").asBoolean()).as(c.toString()).isTrue());
        assertThat(report.get("snapshot").get("origin").asText()).contains(OldCluster.tlsClientUrl(testbed.host(2)));
        assertThat(report.get("newClientEndpoints").asText()).isEqualTo(String.join(",", testbed.hosts().stream()
                .map(h -> newClientUrl(h).toString()).toList()));
        for (TestHost h : testbed.hosts()) {
            assertThat(readAll(newClientUrl(h))).as("keys read back over TLS from %s", h.name()).isEqualTo(written);
        }
    }

    @Test
    @Order(2)
    void memberListShowsHttpsUrlsAndTheEnvFilesCarryTheTlsSettings() throws Exception {
        try (Client c = tlsClient(newClientUrl(testbed.host(0)), true)) {
            List<Member> members = c.getClusterClient().listMember().get(10, TimeUnit.SECONDS).getMembers();
            assertThat(members).hasSize(3);
            for (TestHost h : testbed.hosts()) {
                Member m = members.stream().filter(x -> x.getName().equals(h.name())).findFirst().orElseThrow();
                assertThat(m.getClientURIs()).containsExactly(newClientUrl(h));
                assertThat(m.getPeerURIs()).containsExactly(URI.create("https://" + h.address() + ":22380"));
            }
        }
        for (TestHost h : testbed.hosts()) {
            assertThat(h.readFile("/etc/default/etcd_new"))
                    .contains("ETCD_CERT_FILE=\"" + NEW_PKI + "/member.pem\"", "ETCD_KEY_FILE=\"" + NEW_PKI + "/member-key.pem\"",
                            "ETCD_TRUSTED_CA_FILE=\"" + NEW_PKI + "/ca.pem\"", "ETCD_CLIENT_CERT_AUTH=\"true\"",
                            "ETCD_PEER_CLIENT_CERT_AUTH=\"true\"", "ETCD_SNAPSHOT_COUNT=\"5000\"", "ETCD_LOG_LEVEL=\"info\"");
        }
    }

    @Test
    @Order(3)
    void plainHttpAndClientsWithoutCertificateCannotRead() {
        URI https = newClientUrl(testbed.host(1));
        URI http = URI.create("http://" + testbed.host(1).address() + ":22379");
        assertThatThrownBy(() -> readAll(http, plainClient(http))).as("plain http").isInstanceOf(Exception.class);
        assertThatThrownBy(() -> readAll(https, tlsClient(https, false))).as("TLS without a client certificate").isInstanceOf(Exception.class);
    }

    @Test
    @Order(4)
    void verifyCommandWorksOverTlsWithThePasswordFile() throws Exception {
        Cli.Result r = Cli.etcdRescue("verify", "-i", inventory.toString());
        assertThat(r.exitCode()).as(r.all()).isZero();
    }

    private static URI newClientUrl(TestHost h) {
        return URI.create("https://" + h.address() + ":22379");
    }

    private Map<String, String> readAll(URI url) throws Exception {
        return readAll(url, tlsClient(url, true));
    }

    private static Map<String, String> readAll(URI url, Client client) throws Exception {
        try (Client c = client) {
            Map<String, String> out = new TreeMap<>();
            for (KeyValue kv : c.getKVClient().get(bytes("/registry/tls/"), GetOption.builder().isPrefix(true).build())
                    .get(20, TimeUnit.SECONDS).getKvs()) {
                out.put(kv.getKey().toString(StandardCharsets.UTF_8), kv.getValue().toString(StandardCharsets.UTF_8));
            }
            return out;
        }
    }

    /** A client with the coordinator's etcd client certificate (CN=root) or with none. */
    private Client tlsClient(URI url, boolean withCertificate) throws Exception {
        Path client = etcdPki.resolve("client");
        return Client.builder().authority(url.getHost() + ":" + url.getPort())
                .sslContext(TlsContexts.etcdClient(withCertificate ? client.resolve("client.pem") : null,
                        withCertificate ? client.resolve("client-key.pem") : null, client.resolve("ca.pem")))
                .endpoints(url).connectTimeout(Duration.ofSeconds(5)).retryMaxAttempts(1).retryMaxDuration(Duration.ofSeconds(5))
                .build();
    }

    private static Client plainClient(URI url) {
        return Client.builder().endpoints(url).connectTimeout(Duration.ofSeconds(5)).retryMaxAttempts(1)
                .retryMaxDuration(Duration.ofSeconds(5)).build();
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }
}
