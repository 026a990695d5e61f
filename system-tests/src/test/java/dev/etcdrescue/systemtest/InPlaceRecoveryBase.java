package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.systemtest.testbed.EtcdVersion;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.cluster.Member;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * A restore in place: three Debian-layout hosts, quorum lost, the survivor's old member still serving on
 * 2379/2380, and an inventory whose new members keep those ports (every client already points there).
 * The tests share one testbed and run in order: a start that fails is rolled back to the survivor serving
 * again; then a run killed between the stop of the old members and the start of the new is resumed to a
 * recovered cluster on 2379.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 10, unit = TimeUnit.MINUTES)
abstract class InPlaceRecoveryBase {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String OLD_DATA = "/var/lib/etcd/default";
    private final EtcdVersion version;
    private Testbed testbed;
    private Path work;
    private Path inventory;
    private TestHost survivor;
    private Map<String, String> written;
    private String oldClusterId;
    private final Map<String, Map<String, String>> oldDataBefore = new LinkedHashMap<>();

    InPlaceRecoveryBase(EtcdVersion version) {
        this.version = version;
    }

    @BeforeAll
    void threeHostsLoseQuorumTheSurvivorStillServing() throws Exception {
        testbed = Testbed.create(3, Testbed.Options.defaults().withEtcd(version).withHostPrefix("inpl"));
        work = Files.createTempDirectory("etcd-rescue-inplace-");
        Path pki = work.resolve("pki");
        testbed.installAgents(pki);
        testbed.startOldCluster("old-inplace");
        survivor = testbed.host(2);
        written = new TreeMap<>(EtcdData.load(oldClientUrl(survivor), "/inplace/", 500, 23));
        oldClusterId = clusterId(oldClientUrl(survivor));
        testbed.killEtcdPermanently(testbed.host(0));
        testbed.killEtcdPermanently(testbed.host(1));
        for (int i = 0; i < 2; i++) {
            oldDataBefore.put(testbed.host(i).name(), Trees.fingerprint(testbed.host(i).hostPath(OLD_DATA)));
        }
        String yaml = Inventories.seedLike("inpl", testbed.hosts(), pki, Inventories.fromEndpoints(testbed.hosts()))
                .replace("peer_port: 22380\n        client_port: 22379\n", "peer_port: 2380\n        client_port: 2379\n");
        assertThat(yaml).contains("client_port: 2379\n");
        inventory = Inventories.write(work, "inplace.yaml", yaml);
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    /** plan accepts the ports the survivor's old member holds, and says it stops that member first. */
    @Test
    @Order(0)
    void planSaysTheSurvivorsPortsAreFreedByStoppingItsOldMember() throws Exception {
        Cli.Result plan = Cli.etcdRescue("plan", "-i", inventory.toString());
        assertThat(plan.exitCode()).as(plan.all()).isZero();
        assertThat(plan.stdout()).contains("recover would proceed")
                .contains(survivor.address() + ":2379 held by the old member: freed by stop-old")
                .contains("stop-old: systemctl stop etcd (it holds " + survivor.address() + ":2380, " + survivor.address() + ":2379");
        assertThat(plan.stdout().split("stop-old: systemctl stop etcd", -1)).as("only the survivor's old member is stopped").hasSize(2);
        assertThat(survivor.unitState("etcd")).isEqualTo("active");
    }

    /**
     * A new member that cannot start (its peer port taken after preflight) with --yes: every host rolled
     * back, the survivor's old member running again from its untouched data dir, and serving on 2379 as the
     * same member of the same cluster once a quorum of the old cluster is back.
     */
    @Test
    @Order(1)
    void aFailedStartIsRolledBackAndTheSurvivorServesAgain() throws Exception {
        TestHost blocked = testbed.host(0);
        List<ServerSocket> squatters = new ArrayList<>();
        Cli.Result r;
        try {
            Background run = Background.start(Pattern.compile("^PHASE \\[restore\\]"), () -> {
                try {
                    ServerSocket s = new ServerSocket();
                    s.bind(new InetSocketAddress(InetAddress.getByName(blocked.address()), 2380));
                    squatters.add(s);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, "recover", "-i", inventory.toString(), "--yes", "--work-dir", work.resolve("failed").toString());
            r = run.await();
        } finally {
            for (ServerSocket s : squatters) {
                s.close();
            }
        }
        assertThat(r.exitCode()).as(r.all()).isEqualTo(1);
        assertThat(r.stdout()).contains("PHASE [stop-old]").contains("start failed on").contains("Rolled back every host (--yes)")
                .containsPattern("\\[" + survivor.name() + "\\]\\s+systemctl stop etcd: etcd inactive \\(was active, pid \\d+\\)");
        // etcd serves clients only once its member is published to a quorum: the restarted survivor runs and
        // holds its ports, from its untouched data dir, and answers again when a quorum of the old cluster is back.
        assertThat(survivor.unitState("etcd")).isIn("active", "activating");
        assertThat(survivor.systemctl("is-enabled", "etcd").stdout().strip()).isEqualTo("enabled");
        String pid = survivor.systemctl("show", "-p", "MainPID", "--value", "etcd").stdout().strip();
        assertThat(survivor.execOk(Duration.ofSeconds(10), "cat", "/proc/" + pid + "/environ").stdout().replace('\0', '\n'))
                .contains("ETCD_DATA_DIR=" + OLD_DATA).contains("ETCD_LISTEN_CLIENT_URLS=http://" + survivor.address() + ":2379");
        for (TestHost h : testbed.hosts()) {
            assertThat(h.unitState("etcd_new")).as("new unit on %s", h.name()).isNotIn("active", "activating");
            assertThat(h.hostPath("/var/lib/etcd/new.etcd")).as("rolled back on %s: moved aside", h.name()).doesNotExist();
        }
        assertOldDataOfDeadHostsUntouched();

        TestHost revived = testbed.host(0);
        revived.systemctl("start", "--no-block", "etcd").requireOk();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().untilAsserted(() ->
                assertThat(EtcdData.readAll(oldClientUrl(survivor), "/inplace/")).isEqualTo(written));
        assertThat(clusterId(oldClientUrl(survivor))).as("the old cluster's member, not a new one").isEqualTo(oldClusterId);
        // Quorum lost again, as at the start; the survivor, ready now, goes on serving reads from its copy.
        testbed.killEtcdPermanently(revived);
        oldDataBefore.put(revived.name(), Trees.fingerprint(revived.hostPath(OLD_DATA)));
        assertThat(EtcdData.readAll(oldClientUrl(survivor), "/inplace/", true)).isEqualTo(written);
    }

    /**
     * The coordinator killed right after it stopped the survivor's old member, before any new member
     * started: the survivor is down, and resume brings up the new cluster on 2379 with every key.
     */
    @Test
    @Order(2)
    void resumeAfterAKillBetweenTheStopOfTheOldAndTheStartOfTheNew() throws Exception {
        Path runs = work.resolve("runs");
        Path journal = killAfterStopOld(runs);
        assertThat(survivor.unitState("etcd")).as("the old member stopped before the kill").isIn("inactive", "failed");
        Map<String, String> survivorData = Trees.fingerprint(survivor.hostPath(OLD_DATA));

        Cli.Result r = Cli.etcdRescue("resume", journal.getParent().toString(), "-w", "json");
        assertThat(r.exitCode()).as(r.all()).isZero();
        JsonNode report = JSON.readTree(r.stdout());
        assertThat(report.get("checks")).allSatisfy(c -> assertThat(c.get("ok").asBoolean()).as(c.toString()).isTrue());
        assertThat(report.get("checks").toString()).contains("asked before it was stopped");
        long downtime = report.get("survivorDowntimeMillis").asLong();
        System.out.printf("survivor downtime in place (including the killed coordinator's absence): %d ms%n", downtime);
        assertThat(downtime).isPositive();
        assertThat(r.stderr()).contains("survivor downtime: ");

        for (TestHost h : testbed.hosts()) {
            assertThat(EtcdData.readAll(oldClientUrl(h), "/inplace/")).as("keys on %s:2379", h.name()).isEqualTo(written);
            assertThat(h.unitState("etcd")).as("old unit on %s", h.name()).isIn("inactive", "failed");
            assertThat(h.systemctl("is-enabled", "etcd").stdout().strip()).as(h.name()).isEqualTo("disabled");
            assertThat(h.unitState("etcd_new")).isEqualTo("active");
            String pid = h.systemctl("show", "-p", "MainPID", "--value", "etcd_new").stdout().strip();
            String environ = h.execOk(Duration.ofSeconds(10), "cat", "/proc/" + pid + "/environ").stdout().replace('\0', '\n');
            assertThat(environ).as("the running new member on %s", h.name())
                    .contains("ETCD_LISTEN_CLIENT_URLS=http://" + h.address() + ":2379")
                    .contains("ETCD_LISTEN_PEER_URLS=http://" + h.address() + ":2380");
        }
        try (Client c = EtcdData.client(oldClientUrl(testbed.host(0)))) {
            List<Member> members = c.getClusterClient().listMember().get(10, TimeUnit.SECONDS).getMembers();
            assertThat(members).hasSize(3).allSatisfy(m -> assertThat(m.isLearner()).isFalse());
            for (TestHost h : testbed.hosts()) {
                Member m = members.stream().filter(x -> x.getName().equals(h.name())).findFirst().orElseThrow();
                assertThat(m.getPeerURIs()).containsExactly(URI.create("http://" + h.address() + ":2380"));
                assertThat(m.getClientURIs()).containsExactly(oldClientUrl(h));
            }
        }
        assertThat(clusterId(oldClientUrl(survivor))).as("a new cluster serves 2379").isNotEqualTo(oldClusterId);
        assertThat(Trees.fingerprint(survivor.hostPath(OLD_DATA))).as("the survivor's old data dir").isEqualTo(survivorData);
        assertOldDataOfDeadHostsUntouched();
    }

    private void assertOldDataOfDeadHostsUntouched() {
        for (int i = 0; i < 2; i++) {
            TestHost h = testbed.host(i);
            assertThat(Trees.fingerprint(h.hostPath(OLD_DATA))).as(h.name()).isEqualTo(oldDataBefore.get(h.name()));
        }
    }

    /** Runs recover and SIGKILLs it once its journal says stop-old is done; returns the journal. */
    private Path killAfterStopOld(Path runs) throws Exception {
        List<String> argv = List.of(Cli.projectRoot().resolve("deploy/bin/etcd-rescue").toString(), "recover", "-i",
                inventory.toString(), "--work-dir", runs.toString());
        Path log = Files.createTempFile(work, "recover-", ".out");
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        try {
            while (System.nanoTime() < deadline && p.isAlive()) {
                Path journal = journalIn(runs);
                if (journal != null && stopOldDone(journal)) {
                    p.destroyForcibly();
                    p.waitFor(30, TimeUnit.SECONDS);
                    System.out.println("$ etcd-rescue recover  -> SIGKILL after stop-old\n" + Files.readString(log));
                    assertThat(Files.readString(journal)).doesNotContain("\"phase\":\"VERIFY\"");
                    return journal;
                }
                Thread.sleep(5);
            }
        } finally {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
        throw new AssertionError("stop-old never finished:\n" + Files.readString(log));
    }

    /** The run's journal: the work dir holds one dir per operation. */
    private static Path journalIn(Path runs) throws java.io.IOException {
        if (!Files.isDirectory(runs)) {
            return null;
        }
        try (Stream<Path> dirs = Files.list(runs)) {
            return dirs.map(d -> d.resolve("journal.jsonl")).filter(Files::exists).findFirst().orElse(null);
        }
    }

    private static boolean stopOldDone(Path journal) throws java.io.IOException {
        try (Stream<String> lines = Files.lines(journal)) {
            return lines.anyMatch(l -> l.contains("\"type\":\"phase-done\"") && l.contains("\"phase\":\"STOP_OLD\""));
        }
    }

    private static URI oldClientUrl(TestHost h) {
        return URI.create(Testbed.oldClientUrl(h));
    }

    /** The cluster id the member at {@code url} reports (serializable: an old member without quorum answers too). */
    private static String clusterId(URI url) throws Exception {
        try (Client c = EtcdData.client(url)) {
            return Long.toHexString(c.getMaintenanceClient().statusMember(url.toString()).get(10, TimeUnit.SECONDS)
                    .getHeader().getClusterId());
        }
    }
}
