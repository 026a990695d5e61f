package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.systemtest.testbed.EtcdVersion;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.cluster.Member;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * The seed's disaster on five testbed hosts: an old cluster with 10,000 keys loses four members;
 * one {@code etcd-rescue recover} brings a new cluster up from the survivor. The tests of a class
 * share one testbed and run in order: the later ones build on the recovered cluster.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 10, unit = TimeUnit.MINUTES)
abstract class RecoverEndToEndBase {
    private static final int KEYS = 10_000;
    private static final Duration SHORT = Duration.ofSeconds(30);
    private final EtcdVersion version;
    private final String restoreTool;
    private Testbed testbed;
    private Path work;
    private Path pki;
    private Path inventory;
    private Map<String, String> written;
    private final Map<String, Map<String, String>> oldDataBefore = new LinkedHashMap<>();

    RecoverEndToEndBase(EtcdVersion version, String restoreTool) {
        this.version = version;
        this.restoreTool = restoreTool;
    }

    @BeforeAll
    void fiveHostsLoseFourMembers() throws Exception {
        testbed = Testbed.create(5, Testbed.Options.defaults().withEtcd(version));
        work = Files.createTempDirectory("etcd-rescue-e2e-");
        pki = work.resolve("pki");
        // One host refuses its first BeginTransfer: the stream started while the snapshot is taken fails
        // there, and distribute must send that host the checked file instead.
        AgentFailpoints.writeDropIn(testbed.host(1), "rpc.BeginTransfer=1*error(the test refuses the first transfer)");
        testbed.installAgents(pki);
        testbed.startOldCluster("old-" + version.name().toLowerCase());
        written = EtcdData.load(URI.create(Testbed.oldClientUrl(testbed.host(0))), "/registry/e2e/", KEYS, 7);
        for (int i = 0; i < 4; i++) {
            testbed.killEtcdPermanently(testbed.host(i));
        }
        for (int i = 0; i < 4; i++) {
            TestHost h = testbed.host(i);
            oldDataBefore.put(h.name(), Trees.fingerprint(h.hostPath("/var/lib/etcd/default")));
        }
        inventory = Inventories.write(work, "inventory.yaml", Inventories.seedLike("beta", testbed.hosts(), pki,
                Inventories.fromEndpoints(testbed.hosts())));
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    /** The dry run shows every host's command line and files, and changes nothing. */
    @Test
    @Order(0)
    void planShowsEveryChangeAndChangesNothing() throws Exception {
        Cli.Result plan = Cli.etcdRescue("plan", "-i", inventory.toString());
        assertThat(plan.exitCode()).as(plan.all()).isZero();
        assertThat(plan.stdout()).contains("recover would proceed").contains("snapshot restore <snapshot>").contains("--skip-hash-check")
                .contains("--initial-cluster=" + testbed.host(0).name() + "=http://" + testbed.host(0).address() + ":22380")
                .contains("| ETCD_NAME=\"" + testbed.host(3).name() + "\"")
                .contains("EnvironmentFile=/etc/default/etcd_new").contains("run:      cut-over: systemctl disable etcd (if enabled)");
        Cli.Result check = Cli.etcdRescue("recover", "-i", inventory.toString(), "--check");
        assertThat(check.exitCode()).as(check.all()).isZero();
        assertThat(check.stdout()).contains("PLAN cluster beta").contains("recover would proceed");
        for (TestHost h : testbed.hosts()) {
            assertThat(h.hostPath("/var/lib/etcd/new.etcd")).doesNotExist();
            assertThat(h.hostPath("/etc/default/etcd_new")).doesNotExist();
            assertThat(h.hostPath("/etc/systemd/system/etcd_new.service")).doesNotExist();
        }
    }

    @Test
    @Order(1)
    void oneCommandRecoversTheClusterWithEveryKey() throws Exception {
        long t0 = System.nanoTime();
        // The coordinator's own path, streamed while it takes the snapshot; SourceDistributionEndToEndTest runs the default.
        Cli.Result r = Cli.etcdRescue("recover", "-i", inventory.toString(), "-w", "json", "--work-dir", work.resolve("runs").toString(),
                "--distribution", "streamed");
        System.out.printf("recover took %.1fs%n", (System.nanoTime() - t0) / 1e9);
        assertThat(r.exitCode()).as(r.all()).isZero();
        JsonNode report = new ObjectMapper().readTree(r.stdout());
        assertThat(report.get("success").asBoolean()).isTrue();
        assertThat(report.get("checks")).allSatisfy(c -> assertThat(c.get("ok").asBoolean()).as(c.toString()).isTrue());
        assertThat(report.get("snapshot").get("origin").asText()).contains(Testbed.oldClientUrl(testbed.host(4)));
        // It held every key: nothing needs it once the new cluster is verified.
        assertThat(report.get("snapshot").get("kept").asBoolean()).as(report.get("snapshot").toString()).isFalse();
        Path runDir = Path.of(report.get("workDir").asText());
        assertThat(runDir.resolve("snapshot.db")).doesNotExist();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(runDir.resolve("report.json"))))
                .isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(runDir))).isEqualTo("rwx------");
        assertThat(r.stderr()).contains("PHASE [distribute]").contains("PHASE [cut-over]")
                .contains("fence: none needed: the planned client port [22379] is not the old cluster's [2379]");
        List<String> restores = new ArrayList<>();
        report.get("results").forEach(n -> {
            if (n.get("phase").asText().equals("RESTORE")) {
                restores.add(n.get("message").asText());
            }
        });
        Map<String, String> distributed = new LinkedHashMap<>();
        report.get("results").forEach(n -> {
            if (n.get("phase").asText().equals("DISTRIBUTE") && !n.get("host").asText().equals("-")) {
                distributed.put(n.get("host").asText(), n.get("message").asText());
            }
        });
        String refusing = testbed.host(1).name();
        assertThat(distributed).hasSize(5).allSatisfy((host, m) -> assertThat(m).contains("sha256 verified")
                .contains(host.equals(refusing) ? "received " : "while the snapshot was taken"));
        assertThat(distributed.get(refusing)).doesNotContain("while the snapshot was taken");
        // Same restore tool on every host: only the first one in plan order reads etcd's snapshot status (decision 0014).
        String first = testbed.host(0).name();
        assertThat(distributed).allSatisfy((host, m) -> assertThat(m).contains(host.equals(first)
                ? "; revision " : "; snapshot status read on a host with the same restore tool"));
        assertThat(r.stderr()).contains("[" + refusing + "] streaming the snapshot while it was taken failed");
        assertThat(restores).hasSize(5).allSatisfy(m -> assertThat(m).contains("with " + restoreTool + " ")
                .contains("--skip-hash-check: the file's SHA-256 was verified on arrival"));

        for (TestHost h : testbed.hosts()) {
            Map<String, String> back = EtcdData.readAll(newClientUrl(h), "/registry/e2e/");
            assertThat(back).as("keys read back from %s", h.name()).hasSize(KEYS).isEqualTo(new java.util.TreeMap<>(written));
        }
    }

    @Test
    @Order(2)
    void memberListShowsFiveStartedMembersWithThePlannedUrls() throws Exception {
        try (Client c = EtcdData.client(newClientUrl(testbed.host(2)))) {
            List<Member> members = c.getClusterClient().listMember().get(10, TimeUnit.SECONDS).getMembers();
            assertThat(members).hasSize(5);
            for (TestHost h : testbed.hosts()) {
                Member m = members.stream().filter(x -> x.getName().equals(h.name())).findFirst().orElseThrow();
                assertThat(m.getPeerURIs()).containsExactly(URI.create("http://" + h.address() + ":22380"));
                assertThat(m.getClientURIs()).containsExactly(newClientUrl(h));
            }
        }
    }

    @Test
    @Order(3)
    void oldDataDirsAreUntouchedOldUnitsStoppedAndDisabledNewOnesEnabled() {
        for (int i = 0; i < 4; i++) {
            TestHost h = testbed.host(i);
            assertThat(Trees.fingerprint(h.hostPath("/var/lib/etcd/default"))).as(h.name()).isEqualTo(oldDataBefore.get(h.name()));
        }
        for (TestHost h : testbed.hosts()) {
            assertThat(h.unitState("etcd")).as("old unit on %s", h.name()).isIn("inactive", "failed");
            assertThat(h.systemctl("is-enabled", "etcd").stdout().strip()).as(h.name()).isEqualTo("disabled");
            assertThat(h.systemctl("is-enabled", "etcd_new").stdout().strip()).as(h.name()).isEqualTo("enabled");
            assertThat(h.unitState("etcd_new")).isEqualTo("active");
            assertThat(h.readFile("/etc/default/etcd_new")).contains("ETCD_NAME=\"" + h.name() + "\"")
                    .contains("ETCD_DATA_DIR=\"/var/lib/etcd/new.etcd\"");
        }
    }

    /** One member restarted with another host's client URL (the seed's slip): verify must fail and name it. */
    @Test
    @Order(4)
    void verifyCatchesAMemberAdvertisingAnotherHostsClientUrl() throws Exception {
        Cli.Result good = Cli.etcdRescue("verify", "-i", inventory.toString());
        assertThat(good.exitCode()).as(good.all()).isZero();

        TestHost wrong = testbed.host(3);
        TestHost other = testbed.host(1);
        String env = wrong.readFile("/etc/default/etcd_new");
        String slipped = env.replaceAll("ETCD_ADVERTISE_CLIENT_URLS=\"[^\"]*\"",
                "ETCD_ADVERTISE_CLIENT_URLS=\"" + newClientUrl(other) + "\"");
        assertThat(slipped).isNotEqualTo(env);
        wrong.writeFile("/etc/default/etcd_new", slipped);
        wrong.systemctl("restart", "etcd_new");

        Cli.Result bad = Cli.etcdRescue("verify", "-i", inventory.toString());
        assertThat(bad.exitCode()).as(bad.all()).isEqualTo(4);
        assertThat(bad.stdout()).contains("FAIL").contains("host " + wrong.name())
                .contains("host " + other.name() + "'s address");
    }

    static URI newClientUrl(TestHost h) {
        return URI.create("http://" + h.address() + ":22379");
    }

    List<TestHost> hosts() {
        return new ArrayList<>(testbed.hosts());
    }
}
