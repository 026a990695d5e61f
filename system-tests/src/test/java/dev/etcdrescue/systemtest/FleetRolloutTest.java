package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
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
 * A fleet of three 3-host clusters on nine testbed hosts, restored from one backup by
 * {@code recover --serial --max-fail-percentage}. Cluster alpha cannot pass preflight (its third
 * host's agent_port points where nothing listens). With batches of one and 50%, alpha's batch
 * fails wholly and the rollout stops before bravo and charlie, which stay untouched; with batches
 * of two, alpha's batch fails by exactly 50%, which does not exceed 50%: bravo, then charlie in the
 * next batch, are restored.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class FleetRolloutTest {
    private static final int KEYS = 100;
    private static final List<String> CLUSTERS = List.of("alpha", "bravo", "charlie");
    private static final int DEAD_AGENT_PORT = 7450; // nothing listens there (7444 is the agents' data channel)
    private Testbed testbed;
    private Path work;
    private Path inventory;
    private Map<String, String> written;

    @BeforeAll
    void nineHostsAndABackup() throws Exception {
        long t0 = System.nanoTime();
        work = Files.createTempDirectory("etcd-rescue-fleet-");
        Path backup = work.resolve("backup.db");
        try (ThrowawayEtcd etcd = ThrowawayEtcd.start(work.resolve("throwaway"))) {
            written = EtcdData.load(etcd.clientUrl(), "/fleet/", KEYS, 11);
            Cli.Result save = Cli.etcdRescue("snapshot", "save", "--endpoints", etcd.clientUrl().toString(), backup.toString());
            assertThat(save.exitCode()).as(save.all()).isZero();
        }
        long t1 = System.nanoTime();
        testbed = Testbed.create(9, Testbed.Options.defaults().withHostPrefix("fleet"));
        long t2 = System.nanoTime();
        Path pki = work.resolve("pki");
        testbed.installAgents(pki);
        long t3 = System.nanoTime();
        System.out.printf("backup %.1fs, 9 hosts booted in %.1fs, 9 agents installed in %.1fs%n",
                (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9);
        inventory = Inventories.write(work, "fleet.yaml", fleetInventory(pki, backup));
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    private List<TestHost> hostsOf(String cluster) {
        int first = CLUSTERS.indexOf(cluster) * 3;
        return new ArrayList<>(testbed.hosts().subList(first, first + 3));
    }

    /** Three seed-like clusters in one inventory; alpha's third host names an agent port where nothing listens. */
    private String fleetInventory(Path tlsDir, Path backup) {
        StringBuilder y = new StringBuilder();
        y.append("all:\n  vars:\n    agent_port: 7443\n    tls_dir: ").append(tlsDir).append('\n');
        y.append("    snapshot_file: ").append(backup).append('\n');
        y.append("    old_unit: etcd\n    new_unit: etcd_new\n    data_dir: /var/lib/etcd/new.etcd\n");
        y.append("    peer_port: 22380\n    client_port: 22379\n");
        // Nine JVMs, six etcd members and nine systemds share two cores: etcd's default timers cause spurious elections.
        y.append("    heartbeat_interval_ms: 250\n    election_timeout_ms: 2500\n");
        y.append("  children:\n");
        for (String cluster : CLUSTERS) {
            y.append("    ").append(cluster).append(":\n      vars:\n        cluster_token: ").append(cluster).append("-restored\n");
            y.append("      hosts:\n");
            List<TestHost> hosts = hostsOf(cluster);
            for (int i = 0; i < hosts.size(); i++) {
                TestHost h = hosts.get(i);
                y.append("        ").append(h.name()).append(":\n          address: ").append(h.address()).append('\n');
                if (cluster.equals("alpha") && i == 2) {
                    y.append("          agent_port: ").append(DEAD_AGENT_PORT).append('\n');
                }
            }
        }
        return y.toString();
    }

    private void assertUntouched(String cluster) {
        for (TestHost h : hostsOf(cluster)) {
            assertThat(h.hostPath("/var/lib/etcd/new.etcd")).as("%s of %s", h.name(), cluster).doesNotExist();
            assertThat(h.hostPath("/etc/default/etcd_new")).as("%s of %s", h.name(), cluster).doesNotExist();
            assertThat(h.hostPath("/etc/systemd/system/etcd_new.service")).as("%s of %s", h.name(), cluster).doesNotExist();
            assertThat(h.unitState("etcd_new")).as("%s of %s", h.name(), cluster).isNotEqualTo("active");
        }
    }

    @Test
    @Order(1)
    void aWhollyFailedFirstBatchStopsTheRolloutBeforeTheOtherClusters() throws Exception {
        long t0 = System.nanoTime();
        Cli.Result r = Cli.etcdRescue("recover", "-i", inventory.toString(), "--serial", "1", "--max-fail-percentage", "50",
                "-w", "json", "--work-dir", work.resolve("runs-a").toString());
        System.out.printf("run A took %.1fs%n", (System.nanoTime() - t0) / 1e9);
        assertThat(r.exitCode()).as(r.all()).isEqualTo(3);
        JsonNode fleet = new ObjectMapper().readTree(r.stdout());
        assertThat(fleet.get("clusters")).hasSize(1);
        JsonNode alpha = fleet.get("clusters").get(0);
        assertThat(alpha.get("cluster").asText()).isEqualTo("alpha");
        assertThat(alpha.get("exitCode").asInt()).isEqualTo(3);
        assertThat(alpha.get("message").asText()).contains("preflight failed").contains(testbed.host(2).name());
        assertThat(fleet.get("notStarted")).extracting(JsonNode::asText).containsExactly("bravo", "charlie");
        assertThat(fleet.get("stoppedAfterBatch").asInt()).isEqualTo(1);
        assertThat(r.stderr()).contains("ROLLOUT STOPPED after batch 1: 1 of 1 clusters of the batch failed (100% > --max-fail-percentage 50)")
                .doesNotContain("bravo   | RECOVER").doesNotContain("charlie | RECOVER");
        try (var dirs = Files.list(work.resolve("runs-a"))) {
            assertThat(dirs.toList()).as("only alpha got a work dir").hasSize(1);
        }
        assertUntouched("alpha");
        assertUntouched("bravo");
        assertUntouched("charlie");
    }

    @Test
    @Order(2)
    void halfOfABatchFailingDoesNotExceedFiftyPercentSoEveryOtherClusterIsRestored() throws Exception {
        long t0 = System.nanoTime();
        Cli.Result r = Cli.etcdRescue("recover", "-i", inventory.toString(), "--serial", "2", "--max-fail-percentage", "50",
                "--work-dir", work.resolve("runs-b").toString());
        System.out.printf("run B took %.1fs%n", (System.nanoTime() - t0) / 1e9);
        assertThat(r.exitCode()).as("the first failed cluster's code (alpha, preflight refused)\n" + r.all()).isEqualTo(3);
        String out = r.stdout();
        assertThat(out).contains("BATCH 1 of 2: alpha, bravo").contains("BATCH 2 of 2: charlie").doesNotContain("ROLLOUT STOPPED");
        assertThat(out).containsPattern("(?m)^alpha   : failed \\(exit 3\\)\\s+work dir: " + work.resolve("runs-b") + "/rescue-")
                .containsPattern("(?m)^bravo   : recovered\\s+work dir: " + work.resolve("runs-b") + "/rescue-")
                .containsPattern("(?m)^charlie : recovered\\s+work dir: " + work.resolve("runs-b") + "/rescue-")
                .contains("FLEET FAILED: 2 of 3 clusters recovered, 1 failed, 0 not started")
                .containsPattern("(?m)^ +" + testbed.host(2).name() + ": agent " + testbed.host(2).address() + ":" + DEAD_AGENT_PORT
                        + " unreachable");
        // Until the fleet recap, every line belongs to one cluster (its name first) or to the rollout itself.
        String live = out.substring(0, out.indexOf("FLEET RECAP"));
        for (String line : live.lines().toList()) {
            assertThat(line).matches("(|(alpha  |bravo  |charlie) \\|.*|ROLLOUT .*|BATCH .*)");
        }
        assertThat(live).contains("bravo   | RECOVERED: cluster bravo restored on 3 hosts and verified")
                .contains("charlie | RECOVERED: cluster charlie restored on 3 hosts and verified");

        for (String cluster : List.of("bravo", "charlie")) {
            for (TestHost h : hostsOf(cluster)) {
                Map<String, String> back = EtcdData.readAll(URI.create("http://" + h.address() + ":22379"), "/fleet/");
                assertThat(back).as("keys read back from %s of %s", h.name(), cluster).isEqualTo(new TreeMap<>(written));
                assertThat(h.unitState("etcd_new")).isEqualTo("active");
            }
        }
        assertUntouched("alpha");
    }

    /** A single etcd on 127.0.0.1 of the real machine, only to write the backup; ended by its pid. */
    private static final class ThrowawayEtcd implements AutoCloseable {
        private final Process process;
        private final URI clientUrl;

        private ThrowawayEtcd(Process process, URI clientUrl) {
            this.process = process;
            this.clientUrl = clientUrl;
        }

        static ThrowawayEtcd start(Path dir) throws Exception {
            Files.createDirectories(dir);
            int client = freePort();
            int peer = freePort();
            String c = "http://127.0.0.1:" + client;
            String p = "http://127.0.0.1:" + peer;
            Process proc = new ProcessBuilder("/usr/bin/etcd", "--name", "throwaway", "--data-dir", dir.resolve("data").toString(),
                    "--listen-client-urls", c, "--advertise-client-urls", c, "--listen-peer-urls", p,
                    "--initial-advertise-peer-urls", p, "--initial-cluster", "throwaway=" + p)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("etcd.log").toFile()).start();
            ThrowawayEtcd etcd = new ThrowawayEtcd(proc, URI.create(c));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < deadline) {
                try (Socket s = new Socket("127.0.0.1", client)) {
                    return etcd;
                } catch (IOException notYet) {
                    Thread.sleep(100);
                }
            }
            etcd.close();
            throw new IllegalStateException("etcd did not listen on " + c + "; see " + dir.resolve("etcd.log"));
        }

        URI clientUrl() {
            return clientUrl;
        }

        private static int freePort() throws IOException {
            try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            }
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
