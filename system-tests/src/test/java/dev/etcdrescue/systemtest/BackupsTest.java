package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * Scheduled backups on three testbed hosts running etcd 3.4 under systemd, their agents installed as an
 * operator would, with a 20-second interval: the members that are not the leader take the slots in turn,
 * each backup is signed, read back whole and pushed to both peers (copies: 2), which hold it with their own
 * manifest naming the taker; `backup status` turns their age into an exit code for alerting, `backup now`
 * takes one on demand, a file changed on disk is found, `backup verify` and `backup prune` run, and with every
 * member lost, the taker's backup dir gone and one peer's copy damaged, recovery comes from the other copy.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class BackupsTest {
    /** Inside each host's agent state dir: bound per host, so hosts never share a backup dir. */
    private static final String DIR = "/var/lib/etcd-rescue-agent/backups";
    private static final Duration INTERVAL = Duration.ofSeconds(20);
    private Testbed testbed;
    private Path inventory;
    private Path work;
    private Map<String, String> written;

    @BeforeAll
    void clusterWithBackupsEveryTwentySeconds() throws Exception {
        testbed = Testbed.create(3, Testbed.Options.defaults().withHostPrefix("bak"));
        testbed.startOldCluster("backups");
        work = Files.createTempDirectory("etcd-rescue-backups-");
        Path pki = work.resolve("pki");
        testbed.installAgents(pki);
        // Values up to 8 KiB: a snapshot of about 2 MB, so the coordinator's few KB of control traffic in the from-backup recovery
        // weigh under 1% of it.
        written = EtcdData.load(URI.create(Testbed.oldClientUrl(testbed.host(0))), "/registry/configmaps/", 500, 7, 8192);
        for (TestHost h : testbed.hosts()) {
            String config = h.readFile("/etc/etcd-rescue/agent.yaml") + """
                    backup:
                      interval: PT20S
                      dir: %s
                      cluster: echo
                      etcd: {endpoint: "%s"}
                      retention: {keep_last: 6, hourly: 0, daily: 0, weekly: 0}
                      copies: 2
                    """.formatted(DIR, Testbed.oldClientUrl(h));
            h.writeFile("/etc/etcd-rescue/agent.yaml", config);
            h.systemctl("restart", "etcd-rescue-agent").requireOk();
        }
        inventory = Inventories.write(work, "inventory.yaml",
                Inventories.seedLike("echo", testbed.hosts(), pki, Inventories.fromFile(work.resolve("unused.db"))));
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    private JsonNode json(String... args) throws Exception {
        Cli.Result r = Cli.etcdRescue(args);
        return new ObjectMapper().readTree(r.stdout());
    }

    @Test
    @Order(1)
    void theFollowersTakeTheSlotsInTurnAndEveryBackupIsSignedWholeAndCopiedToBothPeers() throws Exception {
        Instant until = Instant.now().plus(INTERVAL.multipliedBy(5));
        JsonNode list = null;
        while (Instant.now().isBefore(until)) {
            list = json("backup", "list", "-i", inventory.toString(), "-o", "json");
            Map<String, Integer> copiesOf = new HashMap<>();
            long own = 0;
            for (JsonNode h : list.get("hosts")) {
                for (JsonNode b : h.get("backups")) {
                    if (!b.hasNonNull("copyFrom")) {
                        own++;
                    } else {
                        copiesOf.merge(b.get("id").asText(), 1, Integer::sum);
                    }
                }
            }
            if (own >= 3 && copiesOf.values().stream().filter(n -> n == 2).count() >= 3) {
                break;
            }
            Thread.sleep(2000);
        }
        assertThat(list).isNotNull();
        Set<String> takers = new HashSet<>();
        Map<String, JsonNode> owns = new HashMap<>();
        Map<String, Set<String>> holders = new HashMap<>();
        String leader = leaderHost();
        for (JsonNode h : list.get("hosts")) {
            assertThat(h.get("configured").asBoolean()).as(h.toString()).isTrue();
            for (JsonNode b : h.get("backups")) {
                assertThat(b.get("trusted").asBoolean()).as(b.toString()).isTrue();
                assertThat(b.get("cluster").asText()).isEqualTo("echo");
                assertThat(b.get("totalKeys").asLong()).isGreaterThan(500);
                if (!b.hasNonNull("copyFrom")) {
                    assertThat(b.get("takenBy").asText()).isEqualTo(h.get("host").asText());
                    takers.add(b.get("takenBy").asText());
                    owns.put(b.get("id").asText(), b);
                } else {
                    assertThat(b.get("copyFrom").asText()).as("a copy names its taker").isEqualTo(b.get("takenBy").asText())
                            .isNotEqualTo(h.get("host").asText());
                    assertThat(b.get("copiedAt").asText()).isNotEmpty();
                    holders.computeIfAbsent(b.get("id").asText(), id -> new HashSet<>()).add(h.get("host").asText());
                }
            }
        }
        assertThat(takers).as("backups from the two followers, never from the leader " + leader).hasSize(2).doesNotContain(leader);
        long copied = owns.values().stream().filter(b -> holders.getOrDefault(b.get("id").asText(), Set.of()).size() == 2).count();
        assertThat(copied).as("backups held by both peers besides their taker: " + holders).isGreaterThanOrEqualTo(3);

        Cli.Result readBack = Cli.etcdRescue("backup", "list", "-i", inventory.toString(), "--read-back");
        assertThat(readBack.exitCode()).as(readBack.all()).isZero();
        assertThat(readBack.stdout()).contains("signed, read back ok").contains("(copy since ").doesNotContain("NOT TRUSTED");
        TestHost taker = testbed.host(takers.iterator().next());
        try (var files = Files.list(taker.hostPath(DIR))) {
            List<String> names = files.map(p -> p.getFileName().toString()).toList();
            assertThat(names).anyMatch(n -> n.endsWith(".db.zst")).anyMatch(n -> n.endsWith(".manifest.json"))
                    .noneMatch(n -> n.endsWith(".part"));
        }
        for (TestHost h : testbed.hosts()) {
            String pid = h.systemctl("show", "-p", "MainPID", "--value", "etcd-rescue-agent").stdout().strip();
            String status = h.execOk(Duration.ofSeconds(10), "/bin/cat", "/proc/" + pid + "/status").stdout();
            System.out.printf("agent on %s after its backups and copies: %s%n", h.name(), status.lines()
                    .filter(l -> l.startsWith("VmRSS:") || l.startsWith("VmHWM:")).map(l -> l.replaceAll("\\s+", " ")).toList());
        }
    }

    @Test
    @Order(2)
    void statusGivesTheAgeOfTheNewestTrustedBackupAsAnExitCode() throws Exception {
        Cli.Result fresh = Cli.etcdRescue("backup", "status", "-i", inventory.toString(), "--max-age", "PT5M");
        assertThat(fresh.exitCode()).as(fresh.all()).isZero();
        assertThat(fresh.stdout()).contains("| echo ").contains("3 of 3");

        Cli.Result strict = Cli.etcdRescue("backup", "status", "-i", inventory.toString(), "--max-age", "PT0.001S", "-o", "json");
        assertThat(strict.exitCode()).as(strict.all()).isEqualTo(1);
        JsonNode doc = new ObjectMapper().readTree(strict.stdout());
        assertThat(doc.get("problems").get(0).asText()).contains("echo: newest trusted backup is", "more than PT0.001S");
        assertThat(doc.get("clusters").get(0).get("newest").get("totalKeys").asLong()).isGreaterThan(500);

        Cli.Result bad = Cli.etcdRescue("backup", "status", "-i", inventory.toString(), "--max-age", "1h");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.stderr()).contains("--max-age must be an ISO-8601 duration").doesNotContain("Exception");
    }

    @Test
    @Order(3)
    void backupNowTakesOneOnTheHostAsked() throws Exception {
        TestHost h = testbed.host(0);
        Cli.Result now = Cli.etcdRescue("backup", "now", "-i", inventory.toString(), "--host", h.name());
        assertThat(now.exitCode()).as(now.all()).isZero();
        assertThat(now.stdout()).contains(h.name() + ": took echo-").contains("equal to the member's");
    }

    @Test
    @Order(4)
    void aDrillRestoresTheNewestIntoAThrowawayEtcdBesideTheLiveMember() throws Exception {
        TestHost h = testbed.host(0);
        String etcdBefore = h.systemctl("show", "-p", "MainPID", "--value", "etcd").stdout().strip();

        Cli.Result drill = Cli.etcdRescue("backup", "drill", "-i", inventory.toString(), "--host", h.name());

        assertThat(drill.exitCode()).as(drill.all()).isZero();
        assertThat(drill.stdout()).contains(h.name() + ": drill of echo-", " ok: restored, served and matched (HashKV ");
        assertThat(h.systemctl("show", "-p", "MainPID", "--value", "etcd").stdout().strip()).as("the live member untouched")
                .isEqualTo(etcdBefore);
        try (var staging = Files.list(h.hostPath("/var/lib/etcd-rescue-agent/staging"))) {
            assertThat(staging.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("drill-"));
        }
        Cli.Result status = Cli.etcdRescue("backup", "status", "-i", inventory.toString(), "-o", "json");
        JsonNode last = new ObjectMapper().readTree(status.stdout()).get("clusters").get(0).get("lastDrill");
        assertThat(last.get("ok").asBoolean()).as(status.all()).isTrue();
    }

    /**
     * The agent's main process SIGKILLed (a crash, the OOM killer) once a drill's throwaway member has its data:
     * systemd ends that etcd with the agent's cgroup, and the restarted agent removes the drill's dir.
     */
    @Test
    @Order(5)
    void aDrillKilledMidwayLeavesNothing() throws Exception {
        TestHost h = testbed.host(1);
        String agentBefore = AgentFailpoints.agentPid(h);
        Path staging = h.hostPath("/var/lib/etcd-rescue-agent/staging");
        java.util.concurrent.CompletableFuture<Cli.Result> drill = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return Cli.etcdRescue("backup", "drill", "-i", inventory.toString(), "--host", h.name());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Instant until = Instant.now().plusSeconds(60);
        while (drillDirs(staging).stream().noneMatch(d -> Files.isDirectory(d.resolve("data/member")))) {
            assertThat(Instant.now()).as("a drill restored its member within 60 s").isBefore(until);
            assertThat(drill).as("the drill is still running").isNotDone();
            Thread.sleep(20);
        }
        h.execOk(Duration.ofSeconds(30), "systemctl", "kill", "--kill-whom=main", "-s", "SIGKILL", "etcd-rescue-agent");

        Cli.Result r = drill.get(90, TimeUnit.SECONDS);
        assertThat(r.exitCode()).as(r.all()).isNotZero();
        assertThat(r.all()).contains(h.name()).doesNotContain("Exception");
        until = Instant.now().plusSeconds(60);
        while (!h.unitState("etcd-rescue-agent").equals("active") || AgentFailpoints.agentPid(h).equals(agentBefore)
                || !drillDirs(staging).isEmpty()) {
            assertThat(Instant.now()).as("the agent back, a new process, and no drill dir, within 60 s").isBefore(until);
            Thread.sleep(500);
        }
        // The pattern in brackets does not match its own command line (nor the exec wrapper's).
        var left = h.exec(Duration.ofSeconds(30), "pgrep", "-a", "-f", "--", "[-]-name=drill");
        assertThat(left.exitCode()).as("no throwaway etcd of the drill left running: " + left.stdout()).isEqualTo(1);
    }

    private static List<Path> drillDirs(Path staging) throws java.io.IOException {
        try (var entries = Files.list(staging)) {
            return entries.filter(p -> p.getFileName().toString().startsWith("drill-")).toList();
        }
    }

    @Test
    @Order(6)
    void aFileChangedOnDiskFailsTheReadBackAndIsNamed() throws Exception {
        TestHost h = testbed.host(0);
        Path file;
        try (var files = Files.list(h.hostPath(DIR))) {
            file = files.filter(p -> p.getFileName().toString().endsWith(".db.zst")).sorted().findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 3] ^= 0x01;
        Files.write(file, bytes);

        Cli.Result r = Cli.etcdRescue("backup", "list", "-i", inventory.toString(), "--read-back");
        assertThat(r.exitCode()).as(r.all()).isEqualTo(1);
        assertThat(r.stdout()).contains("READ BACK FAILED: " + file.getFileName());
    }

    @Test
    @Order(7)
    void verifyReadsEveryCopyBackAndPruneSaysWhatWouldGo() throws Exception {
        Cli.Result verify = Cli.etcdRescue("backup", "verify", "-i", inventory.toString());
        assertThat(verify.exitCode()).as("the newest backup has good copies: " + verify.all()).isZero();
        assertThat(verify.stdout()).contains("ok: digests, signature, trailer, bbolt, HashKV", "(copy since ",
                "the newest backup of every cluster has a good copy");

        TestHost h = testbed.host(0);
        Cli.Result dry = Cli.etcdRescue("backup", "prune", "-i", inventory.toString(), "--host", h.name(), "--dry-run");
        assertThat(dry.exitCode()).as(dry.all()).isZero();
        assertThat(dry.stdout()).contains(h.name() + ": keeps ", ": the newest verified backup");
    }

    @Test
    @Order(8)
    void withEveryMemberLostTheTakersDirGoneAndBothCopiesOfTheNewestDamagedRecoveryTakesThePreviousBackup() throws Exception {
        for (TestHost h : testbed.hosts()) {
            testbed.killEtcdPermanently(h);
        }
        // No backup is taken any more: the newest one, its taker and the two peers that hold its copies.
        JsonNode newest = null;
        List<JsonNode> trusted = new java.util.ArrayList<>();
        Map<String, Set<String>> holders = new HashMap<>();
        Instant until = Instant.now().plus(Duration.ofSeconds(30));
        while (Instant.now().isBefore(until)) {
            newest = null;
            trusted.clear();
            holders.clear();
            for (JsonNode h : json("backup", "list", "-i", inventory.toString(), "-o", "json").get("hosts")) {
                for (JsonNode b : h.get("backups")) {
                    if (!b.get("trusted").asBoolean()) {
                        continue;
                    }
                    holders.computeIfAbsent(b.get("id").asText(), id -> new HashSet<>()).add(h.get("host").asText());
                    trusted.add(b);
                    if (newest == null || Instant.parse(b.get("takenAt").asText()).isAfter(Instant.parse(newest.get("takenAt").asText()))) {
                        newest = b;
                    }
                }
            }
            if (newest != null && holders.get(newest.get("id").asText()).size() == 3) {
                break;
            }
            Thread.sleep(2000);
        }
        assertThat(newest).isNotNull();
        String id = newest.get("id").asText();
        TestHost taker = testbed.host(newest.get("takenBy").asText());
        List<String> peers = holders.get(id).stream().filter(n -> !n.equals(taker.name())).sorted().toList();
        assertThat(peers).as("the newest backup " + id + " on both peers").hasSize(2);
        Path lost = taker.hostPath(DIR).resolveSibling("backups.lost-by-test");
        Files.move(taker.hostPath(DIR), lost);
        Path flipped = testbed.host(peers.get(0)).hostPath(DIR).resolve(id + ".db.zst");
        byte[] bytes = Files.readAllBytes(flipped);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(flipped, bytes);
        Path truncated = testbed.host(peers.get(1)).hostPath(DIR).resolve(id + ".db.zst");
        try (java.nio.channels.FileChannel c = java.nio.channels.FileChannel.open(truncated, java.nio.file.StandardOpenOption.WRITE)) {
            c.truncate(c.size() / 2);
        }
        String previous = trusted.stream().filter(b -> !b.get("id").asText().equals(id))
                .max(java.util.Comparator.comparing((JsonNode b) -> Instant.parse(b.get("takenAt").asText())))
                .map(b -> b.get("id").asText()).orElseThrow();

        Path runs = work.resolve("runs");
        Cli.Result r = Cli.etcdRescue("recover", "-i", inventory.toString(), "--from-backup", "latest", "--yes", "--work-dir", runs.toString());

        assertThat(r.exitCode()).as(r.all()).isZero();
        // The flipped copy fails when its holder reads it back; the truncated one is not trusted from its listing on.
        assertThat(r.all()).contains("passed over " + id + " (copy from " + taker.name() + ") on " + peers.get(0) + ": ")
                .contains("does not read back")
                .contains("passed over " + id + " on " + peers.get(1) + ": " + id + ".db.zst holds ");
        java.util.regex.Matcher sends = java.util.regex.Pattern.compile("the agent on (\\S+) holds backup " + java.util.regex.Pattern.quote(previous)
                + " and sends it to 2 host\\(s\\)").matcher(r.stdout());
        assertThat(sends.find()).as("the previous backup " + previous + " is the one sent: " + r.stdout()).isTrue();
        Map<String, String> restored = EtcdData.readAll(URI.create("http://" + testbed.host(1).address() + ":22379"), "/registry/configmaps/");
        assertThat(restored).as("every key the backup held").isEqualTo(written);
        assertThat(lost).as("the taker's backups, moved aside by the test, are still there").isDirectory();

        // Agent to agent: the holder of the good copy staged it and sent it on; the coordinator carried none of it.
        Path run;
        try (java.util.stream.Stream<Path> dirs = Files.list(runs)) {
            run = dirs.filter(Files::isDirectory).findFirst().orElseThrow();
        }
        JsonNode snapshot = new ObjectMapper().readTree(run.resolve("report.json").toFile()).get("snapshot");
        double ratio = snapshot.get("coordinatorWireBytesRatio").asDouble();
        System.out.printf("from backup: snapshot %d bytes, distribution %s; the coordinator sent %d and received %d bytes (ratio %.5f)%n",
                snapshot.get("size").asLong(), snapshot.get("distribution").asText(), snapshot.get("coordinatorBytesSent").asLong(),
                snapshot.get("coordinatorBytesReceived").asLong(), ratio);
        assertThat(snapshot.get("distribution").asText()).isEqualTo("source-fanout");
        assertThat(ratio).isLessThanOrEqualTo(0.01);
        TestHost holder = testbed.host(sends.group(1));
        for (TestHost h : testbed.hosts()) {
            String audit = h.readFile("/var/lib/etcd-rescue-agent/audit.log");
            if (h == holder) {
                assertThat(audit).as("the holder staged the backup").contains("\"rpc\":\"TakeSnapshot\"");
            } else {
                assertThat(audit).as("%s received it from the holder's agent", h.name())
                        .contains("\"peer\":\"" + holder.name() + "\",\"rpc\":\"RelaySnapshot\"")
                        .doesNotContain("\"rpc\":\"UploadSnapshot\"");
            }
        }
    }

    private String leaderHost() throws Exception {
        for (TestHost h : testbed.hosts()) {
            String status = h.execOk(Duration.ofSeconds(20), "/usr/bin/etcdctl", "--endpoints", Testbed.oldClientUrl(h),
                    "endpoint", "status", "-w", "json").stdout();
            JsonNode s = new ObjectMapper().readTree(status).get(0).get("Status");
            if (s.get("leader").asText().equals(s.get("header").get("member_id").asText())) {
                return h.name();
            }
        }
        throw new AssertionError("no leader among " + testbed.hosts());
    }
}
