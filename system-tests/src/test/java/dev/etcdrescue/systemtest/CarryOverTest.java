package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.systemtest.testbed.ExecResult;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import io.etcd.jetcd.Client;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The old members' /etc/default/etcd holds settings that must survive (quota, timers, snapshot count,
 * compaction, a metrics listener on port 2381 of the host's address) and one that would break a restored
 * member (ETCD_INITIAL_CLUSTER_STATE=existing). The inventory says nothing about them; after one
 * {@code recover} the new env files hold them, the metrics port moved off the one the surviving old
 * member still holds, and etcd itself runs with them. One host lost its env file (a replacement host):
 * it gets the snapshot source host's settings.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class CarryOverTest {
    private static final long QUOTA = 4L << 30;
    private static final int OLD_METRICS_PORT = 2381;
    private static final Duration HEALTHY_DEADLINE = Duration.ofSeconds(90);
    private Testbed testbed;
    private Path work;
    private Path inventory;
    private Map<String, String> written;
    private TestHost replacement;
    private TestHost survivor;

    @BeforeAll
    void threeOldMembersWithTunedEnvFilesLoseTwo() throws Exception {
        testbed = Testbed.create(3, Testbed.Options.defaults());
        work = Files.createTempDirectory("etcd-rescue-carry-");
        Path pki = work.resolve("pki");
        testbed.installAgents(pki);
        testbed.startOldCluster("old-carry");
        restartOldMembersWithTunedSettings();
        written = EtcdData.load(URI.create(Testbed.oldClientUrl(testbed.host(0))), "/registry/carry/", 500, 11);
        survivor = testbed.host(2);
        replacement = testbed.host(1);
        for (int i = 0; i < 2; i++) {
            testbed.killEtcdPermanently(testbed.host(i));
        }
        // A replacement host: its old env file is gone, so it gets the snapshot source host's settings.
        replacement.execOk(Duration.ofSeconds(10), "mv", "/etc/default/etcd", "/etc/default/etcd.lost");
        assertThat(metrics(survivor.address(), OLD_METRICS_PORT)).as("the survivor holds its metrics port").contains("etcd_server_has_leader");
        // No timers in the inventory: the old file's must reach the new members.
        String yaml = Inventories.seedLike("beta", testbed.hosts(), pki, Inventories.fromEndpoints(List.of(survivor)))
                .replace("        heartbeat_interval_ms: 250\n        election_timeout_ms: 2500\n", "");
        inventory = Inventories.write(work, "inventory.yaml", yaml);
    }

    /** The settings an operator tuned over the years, on top of the testbed's env file; later lines win in systemd. */
    private void restartOldMembersWithTunedSettings() {
        for (TestHost h : testbed.hosts()) {
            h.systemctl("stop", "etcd").requireOk();
        }
        for (TestHost h : testbed.hosts()) {
            h.writeFile("/etc/default/etcd", h.readFile("/etc/default/etcd")
                    + "# tuned by the operator\n"
                    + "ETCD_QUOTA_BACKEND_BYTES=\"" + QUOTA + "\"\n"
                    + "ETCD_HEARTBEAT_INTERVAL=200\n"
                    + "ETCD_ELECTION_TIMEOUT=2000\n"
                    + "ETCD_SNAPSHOT_COUNT='20000'\n"
                    + "ETCD_AUTO_COMPACTION_RETENTION=1h\n"
                    + "ETCD_LISTEN_METRICS_URLS=http://" + h.address() + ":" + OLD_METRICS_PORT + "\n"
                    + "ETCD_INITIAL_CLUSTER_STATE=existing\n");
        }
        for (TestHost h : testbed.hosts()) {
            h.systemctl("start", "--no-block", "etcd").requireOk();
        }
        String endpoints = testbed.hosts().stream().map(Testbed::oldClientUrl).collect(Collectors.joining(","));
        Instant deadline = Instant.now().plus(HEALTHY_DEADLINE);
        ExecResult probe;
        do {
            probe = testbed.host(0).exec(Duration.ofSeconds(15), "etcdctl", "--endpoints=" + endpoints, "--dial-timeout=2s",
                    "--command-timeout=5s", "endpoint", "health");
        } while (!probe.ok() && Instant.now().isBefore(deadline) && pause());
        assertThat(probe.ok()).as("old cluster healthy again with the tuned settings: " + probe.describe()).isTrue();
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    @Test
    @Order(0)
    void planShowsWhatIsCarriedOverAndTheEnvFilesWithIt() throws Exception {
        Cli.Result plan = Cli.etcdRescue("plan", "-i", inventory.toString());
        assertThat(plan.exitCode()).as(plan.all()).isZero();
        TestHost h0 = testbed.host(0);
        assertThat(plan.stdout())
                .contains("carry-over: carried: ETCD_QUOTA_BACKEND_BYTES=" + QUOTA)
                .contains("carry-over: remapped: ETCD_LISTEN_METRICS_URLS URL http://" + h0.address() + ":2381 -> http://"
                        + h0.address() + ":22381")
                .contains("carry-over: changed: ETCD_INITIAL_CLUSTER_STATE existing -> new")
                .contains("| ETCD_LISTEN_METRICS_URLS=\"http://" + h0.address() + ":22381\"")
                .contains("| ETCD_HEARTBEAT_INTERVAL=\"200\"");
    }

    @Test
    @Order(1)
    void recoverCarriesTheSettingsOverAndReportsEachChange() throws Exception {
        long t0 = System.nanoTime();
        Cli.Result r = Cli.etcdRescue("recover", "-i", inventory.toString(), "-w", "json", "--work-dir", work.resolve("runs").toString());
        System.out.printf("recover took %.1fs%n", (System.nanoTime() - t0) / 1e9);
        assertThat(r.exitCode()).as(r.all()).isZero();
        JsonNode report = new ObjectMapper().readTree(r.stdout());
        List<String> carryLines = new ArrayList<>();
        report.get("results").forEach(n -> {
            if (n.get("phase").asText().equals("PREFLIGHT") && n.get("message").asText().startsWith("carry-over")) {
                carryLines.add(n.get("host").asText() + " " + n.get("message").asText());
            }
        });
        assertThat(carryLines).hasSize(3);
        for (TestHost h : List.of(testbed.host(0), survivor)) {
            String line = carryLines.stream().filter(l -> l.startsWith(h.name() + " ")).findFirst().orElseThrow();
            assertThat(line).startsWith(h.name() + " carry-over from env file /etc/default/etcd: ")
                    .contains("carried: ETCD_QUOTA_BACKEND_BYTES=" + QUOTA, "carried: ETCD_HEARTBEAT_INTERVAL=200",
                            "carried: ETCD_ELECTION_TIMEOUT=2000", "carried: ETCD_SNAPSHOT_COUNT=20000",
                            "carried: ETCD_AUTO_COMPACTION_RETENTION=1h",
                            "remapped: ETCD_LISTEN_METRICS_URLS URL http://" + h.address() + ":2381 -> http://" + h.address()
                                    + ":22381 (the old member holds 2381 on this host until the cut-over",
                            "changed: ETCD_INITIAL_CLUSTER_STATE existing -> new",
                            "changed: ETCD_INITIAL_CLUSTER_TOKEN old-carry -> beta-restored (from the plan)",
                            "changed: ETCD_LISTEN_CLIENT_URLS http://" + h.address() + ":2379 -> http://" + h.address() + ":22379");
        }
        String borrowed = carryLines.stream().filter(l -> l.startsWith(replacement.name() + " ")).findFirst().orElseThrow();
        assertThat(borrowed).contains("nothing to carry on this host: settings taken from " + survivor.name()
                        + "'s env file /etc/default/etcd (the snapshot source host)", "carried: ETCD_QUOTA_BACKEND_BYTES=" + QUOTA,
                "remapped: ETCD_LISTEN_METRICS_URLS URL http://" + survivor.address() + ":2381 -> http://" + replacement.address()
                        + ":2381 (the source host's address becomes this host's)");
    }

    @Test
    @Order(2)
    void theNewEnvFilesHoldTheCarriedAndRemappedValues() {
        for (TestHost h : testbed.hosts()) {
            String env = h.readFile("/etc/default/etcd_new");
            int metricsPort = h == replacement ? OLD_METRICS_PORT : 22381;
            assertThat(env).as(h.name()).contains("ETCD_QUOTA_BACKEND_BYTES=\"" + QUOTA + "\"", "ETCD_HEARTBEAT_INTERVAL=\"200\"",
                    "ETCD_ELECTION_TIMEOUT=\"2000\"", "ETCD_SNAPSHOT_COUNT=\"20000\"", "ETCD_AUTO_COMPACTION_RETENTION=\"1h\"",
                    "ETCD_LISTEN_METRICS_URLS=\"http://" + h.address() + ":" + metricsPort + "\"",
                    "ETCD_INITIAL_CLUSTER_STATE=\"new\"")
                    .doesNotContain("existing", "old-carry");
        }
    }

    @Test
    @Order(3)
    void etcdRunsWithThemHealthyWithEveryKey() throws Exception {
        for (TestHost h : testbed.hosts()) {
            URI client = URI.create("http://" + h.address() + ":22379");
            assertThat(EtcdData.readAll(client, "/registry/carry/")).as(h.name()).isEqualTo(new java.util.TreeMap<>(written));
            int metricsPort = h == replacement ? OLD_METRICS_PORT : 22381;
            String metrics = metrics(h.address(), metricsPort);
            assertThat(metrics).as("metrics of %s on its new port", h.name()).contains("etcd_server_has_leader 1");
            assertThat(metrics).contains("etcd_server_quota_backend_bytes " + String.format(java.util.Locale.ROOT, "%.9e", (double) QUOTA));
            assertThat(h.journal("etcd_new")).as(h.name()).contains("heartbeat = 200ms", "election = 2000ms");
        }
        try (Client c = EtcdData.client(URI.create("http://" + survivor.address() + ":22379"))) {
            assertThat(c.getClusterClient().listMember().get(10, TimeUnit.SECONDS).getMembers()).hasSize(3);
        }
    }

    private static String metrics(String address, int port) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + address + ":" + port + "/metrics"))
                .timeout(Duration.ofSeconds(10)).build();
        return http.send(request, HttpResponse.BodyHandlers.ofString()).body();
    }

    private static boolean pause() {
        try {
            Thread.sleep(500);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
