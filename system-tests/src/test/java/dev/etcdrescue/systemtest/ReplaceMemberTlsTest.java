package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.Pem;
import dev.etcdrescue.pki.TlsContexts;
import dev.etcdrescue.systemtest.testbed.OldCluster;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.cluster.Member;
import io.etcd.jetcd.options.GetOption;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * replace-member in a TLS cluster (https client and peer URLs, client- and peer-certificate auth) of three etcd 3.4
 * members, one lost for good: a target whose peer certificate another CA issued (its SAN right) is refused before any
 * change, naming the host, the file and the setting; with a certificate of the cluster's CA the member is replaced.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ReplaceMemberTlsTest {
    private static final String PKI = OldCluster.PKI_DIR;
    private static final String DATA = "/var/lib/etcd/default";
    private static final Duration DAY = Duration.ofDays(1);
    private Testbed testbed;
    private Path work;
    private Path clientPki;
    private Path inventory;
    private CertificateAuthority etcdCa;
    private Map<String, String> written;
    private TestHost lost;

    @BeforeAll
    void threeTlsMembersOneLostForGood() throws Exception {
        testbed = Testbed.create(3, Testbed.Options.defaults().withHostPrefix("rtls"));
        work = Files.createTempDirectory("etcd-rescue-replace-tls-");
        testbed.installAgents(work.resolve("pki"));
        etcdCa = CertificateAuthority.create("rtls-etcd-ca", DAY);
        clientPki = work.resolve("etcd-client");
        Files.createDirectories(clientPki);
        Pem.writeCertificate(clientPki.resolve("ca.pem"), etcdCa.certificate());
        etcdCa.issueEtcdClient("etcd-rescue", DAY).writeTo(clientPki.resolve("client.pem"), clientPki.resolve("client-key.pem"));
        OldCluster.startTls(testbed.hosts(), "old-rtls", etcdCa);
        written = new TreeMap<>();
        try (Client c = client(url(testbed.host(0)))) {
            for (int i = 0; i < 200; i++) {
                String key = String.format("/rtls/%04d", i);
                c.getKVClient().put(bytes(key), bytes("v" + i)).get(10, TimeUnit.SECONDS);
                written.put(key, "v" + i);
            }
        }
        String yaml = "all:\n  vars:\n    agent_port: 7443\n    tls_dir: " + work.resolve("pki") + "\n"
                + "  children:\n    rtls:\n      vars:\n        cluster_token: rtls-restored\n"
                + "        old_unit: etcd\n        new_unit: etcd_new\n        data_dir: " + DATA + "\n"
                + "        peer_port: 2380\n        client_port: 2379\n"
                + "        heartbeat_interval_ms: 250\n        election_timeout_ms: 2500\n        scheme: https\n"
                + "        etcd_cert_file: " + PKI + "/member.pem\n        etcd_key_file: " + PKI + "/member-key.pem\n"
                + "        etcd_ca_file: " + PKI + "/ca.pem\n"
                + "        etcd_client_ca: " + clientPki.resolve("ca.pem") + "\n"
                + "        etcd_client_cert: " + clientPki.resolve("client.pem") + "\n"
                + "        etcd_client_key: " + clientPki.resolve("client-key.pem") + "\n"
                + Inventories.tlsEndpointsAndHosts(testbed.hosts());
        inventory = Inventories.write(work, "inventory.yaml", yaml);

        lost = testbed.host(2);
        long lostId = members().stream().filter(m -> m.getName().equals(lost.name())).findFirst().orElseThrow().getId();
        testbed.killEtcdPermanently(lost);
        List<TestHost> others = List.of(testbed.host(0), testbed.host(1));
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> {
            Set<Long> named = new HashSet<>();
            for (TestHost h : others) {
                try (Client c = client(url(h))) {
                    named.add(c.getMaintenanceClient().statusMember(url(h).toString()).get(5, TimeUnit.SECONDS).getLeader());
                } catch (Exception e) {
                    named.add(-1L);
                }
            }
            return named.size() == 1 && !named.contains(0L) && !named.contains(-1L) && !named.contains(lostId);
        });
        Path snap = lost.hostPath(DATA + "/member/snap");
        try (Stream<Path> files = Files.walk(snap)) {
            for (Path p : files.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.delete(p);
            }
        }
    }

    @AfterAll
    void tearDown() throws Exception {
        if (testbed != null) {
            testbed.close();
        }
        if (work != null) {
            Trees.delete(work);
        }
    }

    @Test
    @Order(1)
    void aTargetWhosePeerCertificateAnotherCaIssuedIsRefusedBeforeAnyChange() throws Exception {
        CertificateAuthority other = CertificateAuthority.create("not-the-cluster-ca", DAY);
        writeMemberCertificate(other);
        List<Member> before = members();

        Cli.Result check = Cli.etcdRescue("replace-member", "-i", inventory.toString(), "--member", lost.name(), "--check");
        assertThat(check.exitCode()).as(check.all()).isEqualTo(3);
        assertThat(check.stdout()).contains("FAIL", "tls-ca-mismatch on " + lost.name() + ": " + PKI + "/member.pem (ETCD_PEER_CERT_FILE)"
                + " is issued by CN=not-the-cluster-ca", "replace-member would be refused; nothing was changed");

        Cli.Result r = Cli.etcdRescue("replace-member", "-i", inventory.toString(), "--member", lost.name(), "--work-dir",
                work.resolve("runs").toString());
        assertThat(r.exitCode()).as(r.all()).isEqualTo(3);
        assertThat(r.all()).contains("replace-member refused, nothing changed", "tls-ca-mismatch on " + lost.name())
                .doesNotContain("REPLACE [remove]", "REPLACE [add]", "Exception");
        assertThat(members()).extracting(Member::getId).containsExactlyInAnyOrderElementsOf(before.stream().map(Member::getId).toList());
        assertThat(lost.hostPath(DATA + "/member/wal")).isDirectory();
    }

    /**
     * The certificate swapped for another CA's after the checks (as the snapshot is taken, before the add): the learner
     * starts with it, its peers refuse it, it never catches up, and it is removed again; 2 of 2 members stay healthy.
     */
    @Test
    @Order(2)
    void aLearnerWithAWrongCertificateNeverCatchesUpAndIsRemovedAgain() throws Exception {
        writeMemberCertificate(etcdCa);
        CertificateAuthority other = CertificateAuthority.create("not-the-cluster-ca", DAY);
        Cli.Result r = Background.start(Pattern.compile("^REPLACE \\[snapshot\\]"), () -> writeMemberCertificate(other),
                "replace-member", "-i", inventory.toString(), "--member", lost.name(), "--stall-timeout", "8", "--work-dir",
                work.resolve("runs").toString()).await();
        assertThat(r.exitCode()).as(r.all()).isEqualTo(1);
        assertThat(r.stdout()).contains("REPLACE [add] member add --learner", "REPLACE [stalled] learner " + lost.name())
                .doesNotContain("REPLACE [promote]");
        assertThat(r.all()).contains("was removed again; the cluster is back where it was before the add: 2 of 2 members healthy")
                .doesNotContain("Exception");
        List<Member> list = members();
        assertThat(list).hasSize(2).noneMatch(Member::isLearner).noneMatch(m -> m.getName().equals(lost.name()));
        for (TestHost h : List.of(testbed.host(0), testbed.host(1))) {
            try (Client c = client(url(h))) {
                assertThat(c.getMaintenanceClient().statusMember(url(h).toString()).get(10, TimeUnit.SECONDS).getLeader()).isNotZero();
            }
        }
        assertThat(lost.unitState("etcd_new")).isIn("inactive", "failed");
        String journal = lost.journal("etcd_new");
        assertThat(journal).as("the learner's own log:\n%s", journal.length() > 4000 ? journal.substring(journal.length() - 4000) : journal)
                .containsPattern("bad certificate|unknown authority");
    }

    @Test
    @Order(3)
    void withACertificateOfTheClusterCaTheMemberIsReplaced() throws Exception {
        writeMemberCertificate(etcdCa);

        Cli.Result r = Cli.etcdRescue("replace-member", "-i", inventory.toString(), "--member", lost.name(), "--work-dir",
                work.resolve("runs").toString());
        assertThat(r.exitCode()).as(r.all()).isZero();
        assertThat(r.stdout()).contains("REPLACE [add] member add --learner", "[https://" + lost.address() + ":2380]", "REPLACE [promote]",
                "REPLACE [verify] ok   hashkv equal", "REPLACE [done] member " + lost.name());
        List<Member> list = members();
        assertThat(list).hasSize(3).noneMatch(Member::isLearner);
        assertThat(list).extracting(Member::getName).containsExactlyInAnyOrderElementsOf(testbed.hosts().stream().map(TestHost::name).toList());
        assertThat(lost.readFile("/etc/default/etcd_new")).contains("ETCD_PEER_CERT_FILE=\"" + PKI + "/member.pem\"",
                "ETCD_INITIAL_CLUSTER_STATE=\"existing\"");
        assertThat(readAll(url(lost))).isEqualTo(written);
    }

    /** The lost host's member certificate and key (its SAN right: the host's address and 127.0.0.1), issued by {@code ca}. */
    private void writeMemberCertificate(CertificateAuthority ca) {
        var member = ca.issueEtcdMember(lost.name(), List.of(lost.address(), "127.0.0.1"), DAY);
        lost.writeFile(PKI + "/member.pem", Pem.toPem(member.certificate()));
        lost.writeFile(PKI + "/member-key.pem", Pem.toPem(member.privateKey()));
        lost.execOk(Duration.ofSeconds(30), "sh", "-c", "chown -R etcd:etcd " + PKI + " && chmod 0600 " + PKI + "/member-key.pem");
    }

    private List<Member> members() throws Exception {
        try (Client c = client(url(testbed.host(0)))) {
            return c.getClusterClient().listMember().get(10, TimeUnit.SECONDS).getMembers();
        }
    }

    private Map<String, String> readAll(URI url) throws Exception {
        try (Client c = client(url)) {
            Map<String, String> out = new TreeMap<>();
            for (KeyValue kv : c.getKVClient().get(bytes("/rtls/"), GetOption.builder().isPrefix(true).build()).get(20, TimeUnit.SECONDS)
                    .getKvs()) {
                out.put(kv.getKey().toString(StandardCharsets.UTF_8), kv.getValue().toString(StandardCharsets.UTF_8));
            }
            return out;
        }
    }

    private Client client(URI url) throws Exception {
        return Client.builder().authority(url.getHost() + ":" + url.getPort())
                .sslContext(TlsContexts.etcdClient(clientPki.resolve("client.pem"), clientPki.resolve("client-key.pem"),
                        clientPki.resolve("ca.pem")))
                .endpoints(url).connectTimeout(Duration.ofSeconds(5)).build();
    }

    private static URI url(TestHost h) {
        return URI.create(OldCluster.tlsClientUrl(h));
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }
}
