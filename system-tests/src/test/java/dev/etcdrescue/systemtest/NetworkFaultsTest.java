package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.systemtest.testbed.PacketFilter;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.io.IOException;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Real packet-level network faults while a recovery runs, injected with nftables ({@link PacketFilter}: a
 * table of this test's own whose rules match only this testbed's 127.x addresses and ports, removed after
 * each scenario and with the table at the end, also when a scenario fails). Three hosts, etcd 3.4, one
 * testbed for the class; each scenario recovers into its own unit, data dir and ports. For each fault: a
 * clear error naming the host within a stated time, nothing the recovery must not touch changed, and
 * {@code resume} or {@code rollback} completing once the network is back. {@link FaultsTest} keeps the
 * user-space stand-ins (SIGSTOP, a silent proxy); these drop real packets in the kernel.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class NetworkFaultsTest {
    private static final Duration SHORT = Duration.ofSeconds(30);
    private static final int AGENT_PORT = 7443;
    private static final String STAGING = "/var/lib/etcd-rescue-agent/staging";
    /** The receiving agent pauses once at half of its first upload, so the link is cut with the transfer under way. */
    private static final String MIDWAY_HOLD = "transfer.midway=1*sleep(8s)";
    private Testbed testbed;
    private PacketFilter filter;
    private Path work;
    private Path pki;
    private Path backup;
    private Map<String, String> written;

    @BeforeAll
    void threeHostsOneSurvivorAndABackup() throws Exception {
        List<String> leftovers = PacketFilter.gc();
        if (!leftovers.isEmpty()) {
            System.out.println("removed packet filters of ended runs: " + leftovers);
        }
        filter = PacketFilter.open();
        testbed = Testbed.create(3, Testbed.Options.defaults().withHostPrefix("netf"));
        work = Files.createTempDirectory("etcd-rescue-netfaults-");
        pki = work.resolve("pki");
        // Written before the install: the agent's first start arms it, no restart needed.
        AgentFailpoints.writeDropIn(testbed.host(0), MIDWAY_HOLD);
        testbed.installAgents(pki);
        testbed.startOldCluster("old-netf");
        // 2,000 keys of ~4 KiB: a snapshot of about 10 MB, so that a transfer is under way long enough to cut.
        written = new TreeMap<>(EtcdData.load(URI.create(Testbed.oldClientUrl(testbed.host(2))), "/netf/", 2000, 5, 4096));
        backup = work.resolve("backup.db");
        Cli.Result save = Cli.etcdRescue("snapshot", "save", "--endpoints", Testbed.oldClientUrl(testbed.host(2)), backup.toString());
        assertThat(save.exitCode()).as(save.all()).isZero();
        // host 2 stays the survivor (the source agent-to-agent scenario needs it); the others lost their members.
        testbed.killEtcdPermanently(testbed.host(0));
        testbed.killEtcdPermanently(testbed.host(1));
    }

    @AfterEach
    void noRuleOutlivesItsScenario() {
        if (filter != null && !filter.rules().isEmpty()) {
            System.out.println("removing rules a failed scenario left: " + filter.rules());
            filter.remove(filter.rules());
        }
    }

    @AfterAll
    void tearDown() {
        try {
            if (filter != null) {
                filter.close();
                assertThat(PacketFilter.tables()).as("this test's nftables table is gone").doesNotContain(filter.table());
            }
        } finally {
            if (testbed != null) {
                testbed.close();
            }
        }
    }

    /** The host's cgroup (testbed/testbed.sh names it), which the packets its processes send are told by. */
    private String cgroup(TestHost h) {
        return testbed.cgroupPrefix() + "-" + h.name();
    }

    /** One scenario's target: its own unit, data dir and ports. */
    private record Target(String cluster, String unit, String dataDir, int clientPort, int peerPort, int fencePort) {
        static Target of(String letter, int portBase) {
            return new Target("n" + letter, "etcd_" + letter, "/var/lib/etcd/" + letter + ".etcd", portBase + 379,
                    portBase + 380, portBase + 10_379);
        }
    }

    private Path inventory(Target t, String source) throws IOException {
        String yaml = Inventories.seedLike(t.cluster(), testbed.hosts(), pki, source)
                .replace("new_unit: etcd_new\n", "new_unit: " + t.unit() + "\n")
                .replace("data_dir: /var/lib/etcd/new.etcd\n", "data_dir: " + t.dataDir() + "\n")
                .replace("peer_port: 22380\n", "peer_port: " + t.peerPort() + "\n")
                .replace("client_port: 22379\n", "client_port: " + t.clientPort() + "\n");
        return Inventories.write(work, t.cluster() + ".yaml", yaml);
    }

    private String[] recover(Target t, String source, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("recover", "-i", inventory(t, source).toString(), "--work-dir",
                work.resolve("runs-" + t.cluster()).toString(), "--fence-port", Integer.toString(t.fencePort()), "--fence", "always"));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    private Path runDir(Target t) throws IOException {
        try (Stream<Path> dirs = Files.list(work.resolve("runs-" + t.cluster()))) {
            return dirs.findFirst().orElseThrow();
        }
    }

    /**
     * What a recovery must leave byte-identical on each host: the env files and units (every file of
     * /etc/default and /etc/systemd/system), and the data dirs of members that are not running.
     */
    private Map<String, Map<String, String>> untouchable(List<TestHost> stopped) {
        Map<String, Map<String, String>> out = new LinkedHashMap<>();
        for (TestHost h : testbed.hosts()) {
            Map<String, String> f = new TreeMap<>();
            Trees.fingerprint(h.hostPath("/etc/default")).forEach((k, v) -> f.put("/etc/default/" + k, v));
            Trees.fingerprint(h.hostPath("/etc/systemd/system")).forEach((k, v) -> f.put("/etc/systemd/system/" + k, v));
            if (stopped.contains(h)) {
                Trees.fingerprint(h.hostPath("/var/lib/etcd/default")).forEach((k, v) -> f.put("/var/lib/etcd/default/" + k, v));
            }
            out.put(h.name(), f);
        }
        return out;
    }

    /** {@code now} equals {@code before} once what a rollback moved aside (renamed, never deleted) is set apart. */
    private static void assertSameApartFromSetAside(Map<String, Map<String, String>> before, Map<String, Map<String, String>> now,
                                                    Target t) {
        for (var e : before.entrySet()) {
            Map<String, String> kept = new TreeMap<>(now.get(e.getKey()));
            // Every file of before must be there unchanged; a new one only where the run set something aside.
            kept.keySet().removeIf(k -> !e.getValue().containsKey(k)
                    && (k.contains("rolled-back") || k.contains(".etcd-rescue-") || k.contains(t.unit())));
            assertThat(kept).as("env files, units and stopped data dirs on %s", e.getKey()).isEqualTo(e.getValue());
        }
    }

    /** Nothing of {@code t} where etcd or systemd would read it, and no temporary file there, on any host. */
    private void assertNothingOfTarget(Target t) throws IOException {
        for (TestHost h : testbed.hosts()) {
            assertThat(h.hostPath(t.dataDir())).as("%s on %s", t.dataDir(), h.name()).doesNotExist();
            assertThat(h.hostPath("/etc/default/" + t.unit())).as("env file on %s", h.name()).doesNotExist();
            assertThat(h.hostPath("/etc/systemd/system/" + t.unit() + ".service")).as("unit on %s", h.name()).doesNotExist();
            for (String dir : List.of("/etc/default", "/etc/systemd/system", "/var/lib/etcd")) {
                try (Stream<Path> files = Files.list(h.hostPath(dir))) {
                    assertThat(files.map(p -> p.getFileName().toString())).as("temp or partial files in %s on %s", dir, h.name())
                            .noneMatch(n -> n.contains(".tmp-") || n.endsWith(".part"));
                }
            }
        }
    }

    private void assertRecovered(Target t, Cli.Result r) throws Exception {
        assertThat(r.exitCode()).as(r.all()).isZero();
        assertThat(r.stdout()).contains("RECOVERED");
        assertThat(EtcdData.readAll(URI.create("http://" + testbed.host(1).address() + ":" + t.clientPort()), "/netf/"))
                .isEqualTo(written);
        // Two cores: stop the recovered members so the next scenario's cluster does not compete with them.
        for (TestHost h : testbed.hosts()) {
            h.systemctl("stop", t.unit());
        }
    }

    /** Transfer ids derive from the snapshot's digest: a staged copy from an earlier scenario would make the next send nothing. */
    private void clearStaging() throws IOException {
        for (TestHost h : testbed.hosts()) {
            try (Stream<Path> files = Files.list(h.hostPath(STAGING))) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    Files.delete(p);
                }
            }
        }
    }

    /**
     * An agent whose SYNs are dropped (a firewall, a host gone without a reset): preflight names it
     * within the coordinator's connect timeout (5 s) instead of waiting for the call's 30 s deadline,
     * and nothing on any host changed.
     */
    @Test
    @Order(1)
    void synDroppedToOneAgentFailsPreflightNamingItWithinTheConnectTimeout() throws Exception {
        Target t = Target.of("a", 22_000);
        TestHost silent = testbed.host(1);
        var before = untouchable(List.of(testbed.host(0), testbed.host(1)));
        PacketFilter.Rule syn = filter.dropSyn(silent.address(), AGENT_PORT);
        long t0 = System.nanoTime();
        Cli.Result r;
        Background run;
        try {
            // Timed from the preflight phase's first line: the coordinator JVM's start is not the network's doing.
            run = Background.start(Pattern.compile("^PHASE \\[preflight\\]"), () -> { }, recover(t, Inventories.fromFile(backup)));
            r = run.await();
            assertThat(filter.packets(syn)).as("SYNs were dropped").isPositive();
        } finally {
            filter.remove(syn);
        }
        long took = (System.nanoTime() - t0) / 1_000_000;
        long named = run.millisFromActionTo(Pattern.compile(Pattern.quote(silent.name()) + ".*unreachable"));
        System.out.printf("SYN to %s:%d dropped: preflight named the host %d ms into the phase; the command took %d ms%n",
                silent.address(), AGENT_PORT, named, took);
        assertThat(r.exitCode()).as(r.all()).isEqualTo(3);
        assertThat(r.stdout()).contains("preflight failed on 1 of 3 hosts").contains(silent.name()).contains("unreachable");
        assertThat(named).as("the 5 s connect timeout, not the 30 s call deadline").isLessThan(15_000);
        assertNothingOfTarget(t);
        assertThat(untouchable(List.of(testbed.host(0), testbed.host(1)))).isEqualTo(before);
    }

    /**
     * The link between the source agent (the survivor's, which sends its snapshot to the two others) and
     * one receiving agent cut as that transfer starts (the receiver held at half of the file), both ways, while the coordinator still
     * reaches both: the hop fails naming the receiver; either the coordinator sends that host the
     * snapshot itself and the recovery completes, or the run ends with nothing outside staging changed
     * and rollback completes. No data dir, env file or unit of the attempt is left half-written.
     */
    @Test
    @Order(2)
    void theLinkBetweenTwoAgentsCutMidTransferNamesTheHopAndTheRunCompletesOrRollsBack() throws Exception {
        Target t = Target.of("d", 23_000);
        TestHost source = testbed.host(2);
        TestHost receiver = testbed.host(0);
        clearStaging();
        var before = untouchable(List.of(testbed.host(0), testbed.host(1)));
        List<PacketFilter.Rule> cut = new ArrayList<>();
        Cli.Result first;
        Background run;
        try {
            // As the source starts sending: the receiver's kernel buffers take a 6 MB snapshot's second half whole while
            // it pauses at the first (the failpoint), so a cut at half time would come after the last byte left the source.
            run = Background.start(Pattern.compile(source.name() + " sends the snapshot to"), () -> {
                // The agents' ports only: the new etcd members of these two hosts must still reach each other later.
                cut.addAll(filter.cutLink(cgroup(source), source.address(), cgroup(receiver), receiver.address(), AGENT_PORT, AGENT_PORT + 1));
            }, recover(t, Inventories.fromEndpoints(List.of(source)), "--chunk-size", "65536"));
            first = run.await();
            assertThat(filter.packets(cut)).as("the cut met the transfer's packets").isPositive();
        } finally {
            filter.remove(cut);
        }
        Cli.Result rolledBack = null;
        try {
            Pattern hop = Pattern.compile("receiving from " + source.name() + " failed at " + receiver.name());
            assertThat(first.stdout()).as("the failed hop, named").containsPattern(hop);
            long detected = run.millisFromActionTo(hop);
            System.out.printf("link %s <-> %s cut mid-transfer: the hop named failed %d ms after the cut, run ended (exit %d) %d ms after it%n",
                    source.name(), receiver.name(), detected, first.exitCode(), run.millisFromActionToEnd());
            assertThat(detected).as("the data channel's 60 s idle limit (or RelaySnapshot's keepalive, 20 s + 10 s) ends the hop's stream")
                    .isLessThan(Duration.ofMinutes(3).toMillis());
            if (first.exitCode() == 0) {
                assertRecovered(t, first);
                return;
            }
            assertThat(first.exitCode()).as(first.all()).isEqualTo(1);
            assertThat(first.stdout()).contains("Nothing outside the agents' staging dirs was changed");
            assertNothingOfTarget(t);
            assertThat(untouchable(List.of(testbed.host(0), testbed.host(1)))).isEqualTo(before);
        } finally {
            if (first.exitCode() != 0) {
                // Whatever failed above, the next scenarios need these agents unclaimed.
                rolledBack = Cli.etcdRescue("rollback", runDir(t).toString(), "--yes");
            }
        }
        assertThat(rolledBack.exitCode()).as(rolledBack.all()).isZero();
        assertNothingOfTarget(t);
        assertThat(untouchable(List.of(testbed.host(0), testbed.host(1)))).isEqualTo(before);
    }

    /**
     * The coordinator cut off from every agent (all packets to and from each agent's port dropped) while
     * the hosts restore: the run ends with an error naming the hosts instead of hanging; once the network
     * is back, {@code resume} completes the recovery and the cluster verifies with every key.
     */
    @Test
    @Order(3)
    void theCoordinatorCutOffFromEveryAgentDuringRestoreEndsTheRunAndResumeCompletes() throws Exception {
        if (testbed.host(2).unitState("etcd").equals("active")) {
            testbed.killEtcdPermanently(testbed.host(2));
        }
        Target t = Target.of("b", 24_000);
        clearStaging();
        List<PacketFilter.Rule> cut = new ArrayList<>();
        Cli.Result first;
        Background run;
        try {
            run = Background.start(Pattern.compile("^PHASE \\[restore\\]"), () -> {
                for (TestHost h : testbed.hosts()) {
                    cut.addAll(filter.cut(h.address(), AGENT_PORT));
                }
            }, recover(t, Inventories.fromFile(backup)));
            first = run.await();
            assertThat(filter.packets(cut)).as("the cut met the coordinator's packets").isPositive();
        } finally {
            filter.remove(cut);
        }
        assertThat(first.exitCode()).as(first.all()).isNotZero();
        assertThat(first.stdout()).contains("failed on").containsPattern("(did not answer in time|Keepalive failed|unreachable)")
                .contains("etcd-rescue resume " + runDir(t));
        long detected = run.millisFromActionTo(Pattern.compile("^failed:\\s+\\["));
        System.out.printf("coordinator cut off from every agent in restore: first host failure line %d ms after the cut, run ended %d ms "
                + "after it%n", detected, run.millisFromActionToEnd());
        assertThat(detected).as("the run must not hang on a partition").isLessThan(Duration.ofMinutes(2).toMillis());
        for (TestHost h : testbed.hosts()) {
            assertThat(h.hostPath("/var/lib/etcd/default/member/snap/db")).as("old data on %s", h.name()).exists();
        }

        long t0 = System.nanoTime();
        Cli.Result resumed = Cli.etcdRescue("resume", runDir(t).toString());
        System.out.printf("resume after the partition healed: %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        assertRecovered(t, resumed);
    }

    /**
     * One new member's peer port dropped while the members start: that member can never join, the run
     * fails naming its host. Then the coordinator is killed (a failpoint: JVM halt, as SIGKILL) after the
     * first host of the rollback, and a second {@code rollback} completes: every env file, unit and stopped
     * data dir is as before the run, what the run created is moved aside.
     */
    @Test
    @Order(4)
    void aNewMembersPeerPortDroppedFailsTheRunNamingItAndARollbackKilledMidwayCompletesWhenRunAgain() throws Exception {
        Target t = Target.of("c", 25_000);
        TestHost isolated = testbed.host(0);
        clearStaging();
        var before = untouchable(testbed.hosts());
        List<PacketFilter.Rule> cut = new ArrayList<>();
        Cli.Result first;
        Background run;
        try {
            // Peers dial from 127.0.0.1: the member's own dials out are told by its host's cgroup.
            run = Background.start(Pattern.compile("^PHASE \\[start\\]"), () -> {
                cut.addAll(filter.cut(isolated.address(), t.peerPort()));
                cut.add(filter.dropSentBy(cgroup(isolated), t.peerPort()));
            },
                    recover(t, Inventories.fromFile(backup), "--start-timeout", "45"));
            first = run.await();
            assertThat(filter.packets(cut)).as("the cut met the members' peer traffic").isPositive();
        } finally {
            filter.remove(cut);
        }
        assertThat(first.exitCode()).as(first.all()).isNotZero();
        assertThat(first.stdout()).containsPattern("(?i)(start|verify) failed").contains(isolated.name())
                .contains("etcd-rescue rollback " + runDir(t));
        long detected = run.millisFromActionTo(Pattern.compile("^failed:.*" + isolated.name()));
        System.out.printf("peer port %s:%d dropped in start: named %d ms after the cut, run ended %d ms after it%n",
                isolated.address(), t.peerPort(), detected, run.millisFromActionToEnd());

        Cli.Result killed = Cli.etcdRescueWith(Map.of("ETCD_RESCUE_COORDINATOR_FAILPOINTS", "rollback.afterHost=1*kill"),
                "rollback", runDir(t).toString(), "--yes");
        assertThat(killed.exitCode()).as(killed.all()).isEqualTo(137);
        assertThat(killed.stderr()).contains("failpoint rollback.afterHost: killing the coordinator");
        assertThat(killed.stdout()).doesNotContain("rolled back on");

        long t0 = System.nanoTime();
        Cli.Result again = Cli.etcdRescue("rollback", runDir(t).toString(), "--yes");
        System.out.printf("rollback run again after the coordinator was killed in it: %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        assertThat(again.exitCode()).as(again.all()).isZero();
        for (TestHost h : testbed.hosts()) {
            assertThat(h.unitState(t.unit())).as("%s on %s", t.unit(), h.name()).isNotIn("active", "activating");
        }
        assertNothingOfTarget(t);
        assertSameApartFromSetAside(before, untouchable(testbed.hosts()), t);
    }
}
