package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.time.Duration;
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
 * A disaster-recovery tool must never make the disaster worse: the coordinator killed mid-transfer and
 * between phases finishes with resume without doing anything twice; a host failing after the others
 * were configured is rolled back to exactly what it was. Three hosts share one testbed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 12, unit = TimeUnit.MINUTES)
class SafetyTest {
    private static final Duration SHORT = Duration.ofSeconds(30);
    private Testbed testbed;
    private Path work;
    private Path pki;
    private Map<String, String> written;

    @BeforeAll
    void threeHostsLoseTwoMembers() throws Exception {
        testbed = Testbed.create(3, Testbed.Options.defaults().withHostPrefix("safe"));
        work = Files.createTempDirectory("etcd-rescue-safety-");
        pki = work.resolve("pki");
        testbed.installAgents(pki);
        testbed.startOldCluster("old-safety");
        // 3,000 keys of ~4 KiB: a snapshot of about 15 MB, long enough to kill the coordinator mid-transfer.
        written = new TreeMap<>();
        URI old = URI.create(Testbed.oldClientUrl(testbed.host(0)));
        written.putAll(EtcdData.load(old, "/safe/", 3000, 11, 4096));
        testbed.killEtcdPermanently(testbed.host(0));
        testbed.killEtcdPermanently(testbed.host(1));
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            for (TestHost h : testbed.hosts()) {
                h.exec(SHORT, "chattr", "-i", "/etc/default");
            }
            testbed.close();
        }
    }

    @Test
    @Order(1)
    void coordinatorKilledMidTransferAndBetweenPhasesFinishesWithResumeDoingNothingTwice() throws Exception {
        Path inventory = Inventories.write(work, "a.yaml", Inventories.seedLike("alpha", testbed.hosts(), pki,
                Inventories.fromEndpoints(testbed.hosts())));
        Path runs = work.resolve("runs-a");
        Cli.killWhen(Pattern.compile("\\.\\.\\. \\[safe-\\d\\] \\d+/\\d+ bytes \\((25|50|75)%\\)"),
                "recover", "-i", inventory.toString(), "--work-dir", runs.toString(), "--chunk-size", "1024",
                // The staged transfer: killed mid-way, it resumes from what each agent holds (a streamed one starts over).
                "--distribution", "direct");
        Path run;
        try (Stream<Path> dirs = Files.list(runs)) {
            run = dirs.findFirst().orElseThrow();
        }
        long partial = 0;
        for (TestHost h : testbed.hosts()) {
            try (Stream<Path> staged = Files.list(h.hostPath("/var/lib/etcd-rescue-agent/staging"))) {
                for (Path p : (Iterable<Path>) staged::iterator) {
                    if (p.toString().endsWith(".part")) {
                        partial = Math.max(partial, Files.size(p));
                    }
                }
            }
        }
        assertThat(partial).as("bytes an agent holds durably when the coordinator died").isPositive();

        String second = Cli.killWhen(Pattern.compile("PHASE \\[configure\\]"), "resume", run.toString());
        assertThat(second).contains("preflight: done in an earlier attempt").contains("resumed at");
        Map<String, String> inodes = new LinkedHashMap<>();
        for (TestHost h : testbed.hosts()) {
            inodes.put(h.name(), h.execOk(SHORT, "stat", "-c", "%i", "/var/lib/etcd/new.etcd").stdout().strip());
        }

        Cli.Result third = Cli.etcdRescue("resume", run.toString());
        assertThat(third.exitCode()).as(third.all()).isZero();
        assertThat(third.stdout()).contains("restore: done in an earlier attempt");
        for (TestHost h : testbed.hosts()) {
            assertThat(h.execOk(SHORT, "stat", "-c", "%i", "/var/lib/etcd/new.etcd").stdout().strip())
                    .as("data dir restored once on %s", h.name()).isEqualTo(inodes.get(h.name()));
        }
        assertThat(EtcdData.readAll(URI.create("http://" + testbed.host(0).address() + ":22379"), "/safe/")).isEqualTo(written);

        Map<String, String> started = new LinkedHashMap<>();
        for (TestHost h : testbed.hosts()) {
            started.put(h.name(), h.systemctl("show", "-p", "ActiveEnterTimestampMonotonic", "etcd_new").stdout().strip());
        }
        Cli.Result again = Cli.etcdRescue("resume", run.toString());
        assertThat(again.exitCode()).as(again.all()).isZero();
        assertThat(again.stdout()).contains("cut-over: done in an earlier attempt");
        for (TestHost h : testbed.hosts()) {
            assertThat(h.systemctl("show", "-p", "ActiveEnterTimestampMonotonic", "etcd_new").stdout().strip())
                    .as("etcd_new not restarted on %s", h.name()).isEqualTo(started.get(h.name()));
        }
    }

    /** Every path under the dirs a recovery writes, with content digest, owner and mode. */
    private static Map<String, String> state(TestHost h) throws Exception {
        Map<String, String> out = new TreeMap<>();
        for (String dir : List.of("/var/lib/etcd", "/etc/default", "/etc/systemd/system")) {
            Path root = h.hostPath(dir);
            try (Stream<Path> all = Files.walk(root)) {
                for (Path p : (Iterable<Path>) all::iterator) {
                    PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
                    String what = a.isRegularFile() ? Trees.fingerprint(p.getParent()).get(p.getFileName().toString())
                            : a.isSymbolicLink() ? "-> " + Files.readSymbolicLink(p) : "dir";
                    out.put(dir + "/" + root.relativize(p), what + " " + a.owner().getName() + " "
                            + java.nio.file.attribute.PosixFilePermissions.toString(a.permissions()));
                }
            }
        }
        return out;
    }

    /**
     * Moved-aside copies are compared by their presence in the assertions, not here; the running
     * cluster's own data dir changes by itself (WAL, snapshots) and is not the recovery's to keep.
     */
    private static Map<String, String> withoutLeftovers(Map<String, String> state) {
        Map<String, String> kept = new TreeMap<>(state);
        kept.keySet().removeIf(p -> p.contains(".rolled-back-") || p.contains(".etcd-rescue-")
                || p.startsWith("/var/lib/etcd/new.etcd/"));
        return kept;
    }

    @Test
    @Order(2)
    void oneHostFailingConfigureAfterTheOthersRollsEveryHostBackToExactlyWhatItWas() throws Exception {
        Path backup = work.resolve("b.db");
        Cli.Result save = Cli.etcdRescue("snapshot", "save", "--endpoints", "http://" + testbed.host(0).address() + ":22379",
                backup.toString());
        assertThat(save.exitCode()).as(save.all()).isZero();
        String yaml = Inventories.seedLike("bravo", testbed.hosts(), pki, Inventories.fromFile(backup))
                .replace("old_unit: etcd\n", "old_unit: etcd_new\n").replace("new_unit: etcd_new\n", "new_unit: etcd_b\n")
                .replace("data_dir: /var/lib/etcd/new.etcd\n", "data_dir: /var/lib/etcd/b.etcd\n")
                .replace("peer_port: 22380\n", "peer_port: 23380\n").replace("client_port: 22379\n", "client_port: 23379\n");
        Path inventory = Inventories.write(work, "b.yaml", yaml);
        Map<String, Map<String, String>> before = new LinkedHashMap<>();
        for (TestHost h : testbed.hosts()) {
            before.put(h.name(), state(h));
        }
        TestHost failing = testbed.host(1);
        failing.execOk(SHORT, "chattr", "+i", "/etc/default");
        Cli.Result r;
        try {
            r = Cli.etcdRescue("recover", "-i", inventory.toString(), "--work-dir", work.resolve("runs-b").toString(),
                    "--fence-port", "33379", "--fence", "always", "--yes");
        } finally {
            failing.execOk(SHORT, "chattr", "-i", "/etc/default");
        }
        assertThat(r.exitCode()).as(r.all()).isEqualTo(1);
        assertThat(r.stdout()).contains("configure failed on 1 of 3 hosts").contains(failing.name()).contains("Rolled back every host");

        for (TestHost h : testbed.hosts()) {
            Map<String, String> after = state(h);
            assertThat(withoutLeftovers(after)).as("files of %s, leftovers of the attempt aside", h.name())
                    .isEqualTo(withoutLeftovers(before.get(h.name())));
            assertThat(after.keySet()).as("what the attempt created on %s is kept aside, not deleted", h.name())
                    .anyMatch(p -> p.startsWith("/var/lib/etcd/b.etcd."));
            assertThat(h.unitState("etcd_b")).isIn("inactive", "failed");
            assertThat(h.unitState("etcd_new")).as("the running cluster on %s is untouched", h.name()).isEqualTo("active");
        }
    }

    /**
     * What the attempts left aside is listed, kept until asked, then removed; the running cluster is
     * untouched, and a directory someone else named like a leftover is neither listed nor removed.
     */
    @Test
    @Order(3)
    void cleanupListsWhatWasLeftAsideAndRemovesItOnlyWhenAsked() throws Exception {
        Path inventory = work.resolve("b.yaml");
        TestHost h = testbed.host(0);
        Path decoy = Files.createDirectories(h.hostPath("/var/lib/etcd/decoy.etcd-rescue-1/member"));
        Files.writeString(decoy.resolve("keep"), "not the agent's");
        Cli.Result list = Cli.etcdRescue("cleanup", "-i", inventory.toString());
        assertThat(list.exitCode()).as(list.all()).isZero();
        assertThat(list.stdout()).contains("rolled-back").contains("/var/lib/etcd/b.etcd.rolled-back-").contains("Nothing was removed")
                .doesNotContain("decoy");
        List<Path> aside;
        try (Stream<Path> s = Files.list(h.hostPath("/var/lib/etcd"))) {
            aside = s.filter(p -> p.getFileName().toString().contains(".rolled-back-")).toList();
        }
        assertThat(aside).isNotEmpty().allSatisfy(p -> assertThat(p).exists());

        Cli.Result refused = Cli.etcdRescue("cleanup", "-i", inventory.toString(), "--remove");
        assertThat(refused.exitCode()).as("no terminal and no --yes").isEqualTo(2);
        assertThat(aside).allSatisfy(p -> assertThat(p).exists());

        Cli.Result removed = Cli.etcdRescue("cleanup", "-i", inventory.toString(), "--remove", "--yes");
        assertThat(removed.exitCode()).as(removed.all()).isZero();
        assertThat(aside).allSatisfy(p -> assertThat(p).doesNotExist());
        assertThat(removed.stdout()).doesNotContain("decoy");
        assertThat(decoy.resolve("keep")).exists();
        assertThat(h.hostPath("/var/lib/etcd/new.etcd/member/snap/db")).exists();
        assertThat(h.unitState("etcd_new")).isEqualTo("active");
        assertThat(EtcdData.readAll(URI.create("http://" + h.address() + ":22379"), "/safe/")).isEqualTo(written);
    }
}
