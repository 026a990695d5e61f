package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.etcdrescue.agent.failpoint.Failpoints;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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
 * Faults on real hosts while a recovery runs, three hosts of one testbed, a backup file as the source.
 * After each: the run either completes after {@code etcd-rescue resume} or ends with a clear error
 * naming the host; nothing half-written is left where etcd or systemd read (/etc/default,
 * /etc/systemd/system, /var/lib/etcd), and the snapshot is still usable (the resumed runs restore it).
 * Each scenario recovers into its own unit, data dir and ports, so one scenario's leftovers cannot
 * make the next pass; the host taken down is the last scenario.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 25, unit = TimeUnit.MINUTES)
class FaultsTest {
    private static final Duration SHORT = Duration.ofSeconds(30);
    private static final String AGENT = "etcd-rescue-agent";
    private static final String STAGING = "/var/lib/etcd-rescue-agent/staging";
    private Testbed testbed;
    private Path work;
    private Path pki;
    private Path backup;
    private Map<String, String> written;

    @BeforeAll
    void threeHostsWithABackup() throws Exception {
        testbed = Testbed.create(3, Testbed.Options.defaults().withHostPrefix("fault"));
        work = Files.createTempDirectory("etcd-rescue-faults-");
        pki = work.resolve("pki");
        testbed.installAgents(pki);
        testbed.startOldCluster("old-faults");
        // 3,000 keys of ~4 KiB: a snapshot of about 15 MB, so that a transfer lasts long enough to hit.
        written = new TreeMap<>(EtcdData.load(URI.create(Testbed.oldClientUrl(testbed.host(0))), "/fault/", 3000, 5, 4096));
        backup = work.resolve("backup.db");
        Cli.Result save = Cli.etcdRescue("snapshot", "save", "--endpoints", Testbed.oldClientUrl(testbed.host(0)), backup.toString());
        assertThat(save.exitCode()).as(save.all()).isZero();
        for (TestHost h : testbed.hosts()) {
            testbed.killEtcdPermanently(h);
        }
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    /** One scenario's target: its own unit, data dir and ports, recovered from the backup. */
    private record Target(String cluster, String unit, String dataDir, int clientPort, int peerPort, int fencePort) {
        static Target of(String letter, int portBase) {
            return new Target("f" + letter, "etcd_" + letter, "/var/lib/etcd/" + letter + ".etcd", portBase + 379,
                    portBase + 380, portBase + 10_379);
        }
    }

    private Path inventory(Target t) throws IOException {
        String yaml = Inventories.seedLike(t.cluster(), testbed.hosts(), pki, Inventories.fromFile(backup))
                .replace("new_unit: etcd_new\n", "new_unit: " + t.unit() + "\n")
                .replace("data_dir: /var/lib/etcd/new.etcd\n", "data_dir: " + t.dataDir() + "\n")
                .replace("peer_port: 22380\n", "peer_port: " + t.peerPort() + "\n")
                .replace("client_port: 22379\n", "client_port: " + t.clientPort() + "\n");
        return Inventories.write(work, t.cluster() + ".yaml", yaml);
    }

    private String[] recover(Target t, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("recover", "-i", inventory(t).toString(), "--work-dir",
                work.resolve("runs-" + t.cluster()).toString(), "--fence-port", Integer.toString(t.fencePort()), "--fence", "always"));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    private Path runDir(Target t) throws IOException {
        try (Stream<Path> dirs = Files.list(work.resolve("runs-" + t.cluster()))) {
            return dirs.findFirst().orElseThrow();
        }
    }

    /** Nothing of {@code t} where etcd or systemd would read it, on any of {@code hosts}. */
    private static void assertNothingHalfWritten(Target t, List<TestHost> hosts) throws IOException {
        for (TestHost h : hosts) {
            assertThat(h.hostPath(t.dataDir())).as("%s on %s", t.dataDir(), h.name()).doesNotExist();
            assertThat(h.hostPath("/etc/default/" + t.unit())).as("env file on %s", h.name()).doesNotExist();
            assertThat(h.hostPath("/etc/systemd/system/" + t.unit() + ".service")).as("unit on %s", h.name()).doesNotExist();
            for (String dir : List.of("/etc/default", "/etc/systemd/system", "/var/lib/etcd")) {
                try (Stream<Path> files = Files.list(h.hostPath(dir))) {
                    assertThat(files.map(p -> p.getFileName().toString()))
                            .as("temp or partial files in %s on %s", dir, h.name())
                            .noneMatch(n -> n.contains(".tmp-") || n.endsWith(".part") || n.startsWith(t.unit()));
                }
            }
        }
    }

    /** The old member's files are as the testbed left them: the recovery must never touch them. */
    private static void assertOldMemberIntact(List<TestHost> hosts) {
        for (TestHost h : hosts) {
            assertThat(h.hostPath("/var/lib/etcd/default/member/snap/db")).as("old data on %s", h.name()).exists();
            assertThat(h.hostPath("/etc/default/etcd")).as("old env file on %s", h.name()).exists();
        }
    }

    private void assertRecovered(Target t, Cli.Result r) throws Exception {
        assertThat(r.exitCode()).as(r.all()).isZero();
        assertThat(r.stdout()).contains("RECOVERED");
        assertThat(EtcdData.readAll(URI.create("http://" + testbed.host(1).address() + ":" + t.clientPort()), "/fault/"))
                .isEqualTo(written);
        // Two cores: stop the recovered members so the next scenario's cluster does not compete with them.
        for (TestHost h : testbed.hosts()) {
            h.systemctl("stop", t.unit());
        }
    }

    private static void waitForAgent(TestHost h) {
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().until(() -> {
            try (java.net.Socket s = new java.net.Socket(h.address(), 7443)) {
                return true;
            }
        });
    }

    /**
     * Transfer ids derive from the file's digest and every scenario sends the same backup: without this,
     * a later scenario would find the file staged by an earlier one and send nothing.
     */
    private void clearStaging() throws IOException {
        for (TestHost h : testbed.hosts()) {
            Path staging = h.hostPath(STAGING);
            try (Stream<Path> files = Files.list(staging)) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    Files.delete(p);
                }
            }
        }
    }

    @Test
    @Order(1)
    void aBusyTargetPortIsRefusedInPreflightNamingHostAndPort() throws Exception {
        Target t = Target.of("p", 22_000);
        TestHost busy = testbed.host(1);
        try (ServerSocket squatter = new ServerSocket()) {
            squatter.bind(new InetSocketAddress(InetAddress.getByName(busy.address()), t.clientPort()));
            Cli.Result r = Cli.etcdRescue(recover(t));
            assertThat(r.exitCode()).as(r.all()).isEqualTo(3);
            assertThat(r.stdout()).contains("preflight failed").contains(busy.name())
                    .contains(busy.address() + ":" + t.clientPort());
        }
        assertNothingHalfWritten(t, testbed.hosts());
        assertOldMemberIntact(testbed.hosts());
    }

    /**
     * The coordinator retries a transfer that broke with UNAVAILABLE from the agent's durable offset while
     * systemd restarts the agent (AgentRetry: 5 attempts within a minute). If the agent is not back
     * in time the run ends with exit 1 and nothing changed outside staging, and resume completes it.
     */
    @Test
    @Order(2)
    void theAgentSigkilledMidTransferComesBackAndTheTransferResumesFromTheDurableOffset() throws Exception {
        Target t = Target.of("a", 22_000);
        TestHost victim = testbed.host(1);
        clearStaging();
        Background run = Background.start(Pattern.compile("\\.\\.\\. \\[" + victim.name() + "\\] \\d+/\\d+ bytes \\((25|50)%\\)"),
                () -> victim.execOk(SHORT, "systemctl", "kill", "-s", "SIGKILL", AGENT), recover(t, "--chunk-size", "1024"));
        Cli.Result first = run.await();
        Pattern resumedAt = Pattern.compile("\\[" + victim.name() + "\\].*resumed at \\d+");
        if (first.exitCode() == 0) {
            System.out.printf("SIGKILLed agent on %s: the coordinator noticed it %d ms later and resumed the transfer by itself%n",
                    victim.name(), run.millisFromActionTo(Pattern.compile("\\[" + victim.name() + "\\] transfer interrupted")));
            assertThat(first.stdout()).containsPattern(resumedAt);
            assertRecovered(t, first);
        } else {
            assertThat(first.exitCode()).as(first.all()).isEqualTo(1);
            assertThat(first.stdout()).contains("distribute failed on 1 of 3 hosts").contains(victim.name())
                    .contains("Nothing outside the agents' staging dirs was changed");
            System.out.printf("SIGKILLed agent on %s: the coordinator reported it %d ms later%n", victim.name(),
                    run.millisFromActionTo(Pattern.compile("^failed:\\s+\\[" + victim.name() + "\\]")));
            assertNothingHalfWritten(t, testbed.hosts());
            long t0 = System.nanoTime();
            waitForAgent(victim);
            System.out.printf("agent on %s listening again %d ms after the run ended (Restart=on-failure)%n", victim.name(),
                    (System.nanoTime() - t0) / 1_000_000);
            Cli.Result resumed = Cli.etcdRescue("resume", runDir(t).toString());
            assertThat(resumed.stdout()).containsPattern(resumedAt);
            assertRecovered(t, resumed);
        }
        assertThat(victim.journal(AGENT)).as("systemd restarted the killed agent").containsPattern("(?i)(killed|SIGKILL|Scheduled restart)");
        assertOldMemberIntact(testbed.hosts());
    }

    @Test
    @Order(3)
    void aSigstoppedAgentFailsTheRunWithATimeoutNamingTheHostAndResumeCompletesAfterSigcont() throws Exception {
        Target t = Target.of("b", 23_000);
        TestHost frozen = testbed.host(2);
        clearStaging();
        Background run;
        try {
            run = Background.start(Pattern.compile("\\.\\.\\. \\[" + frozen.name() + "\\] \\d+/\\d+ bytes \\((25|50)%\\)"),
                    () -> frozen.execOk(SHORT, "systemctl", "kill", "-s", "SIGSTOP", AGENT), recover(t, "--chunk-size", "1024"));
            Cli.Result first = run.await();
            assertThat(first.exitCode()).as(first.all()).isEqualTo(1);
            assertThat(first.stdout()).contains("distribute failed on 1 of 3 hosts").contains(frozen.name())
                    .containsPattern("(did not answer in time|Keepalive failed|unreachable)");
            long detected = run.millisFromActionTo(Pattern.compile("^failed:\\s+\\[" + frozen.name() + "\\]"));
            System.out.printf("SIGSTOPped agent on %s: host failure line after %d ms, run ended after %d ms%n", frozen.name(),
                    detected, run.millisFromActionToEnd());
            // Keepalive (20 s + 10 s) or the call's deadline ends the stream; releasing the claim waits 30 s more.
            assertThat(detected).as("the run must not hang on a frozen agent").isLessThan(Duration.ofMinutes(3).toMillis());
        } finally {
            frozen.exec(SHORT, "systemctl", "kill", "-s", "SIGCONT", AGENT);
        }
        assertNothingHalfWritten(t, testbed.hosts());
        Thread.sleep(3000); // the thawed agent notices the dead stream and closes its partial file

        Cli.Result resumed = Cli.etcdRescue("resume", runDir(t).toString());
        assertRecovered(t, resumed);
    }

    @Test
    @Order(4)
    void aDiskFilledDuringTheTransferIsACleanErrorNamingTheHostAndResumeCompletesOnceFreed() throws Exception {
        Target t = Target.of("c", 24_000);
        TestHost full = testbed.host(0);
        clearStaging();
        // Over the data channel a 9 MB upload takes about a second, less than dd needs to fill the tmpfs: the
        // agent pauses once at half the file, so the disk is full before the second half is written.
        AgentFailpoints.arm(Failpoints.TRANSFER_MIDWAY + "=1*sleep(10s)", full);
        AgentFailpoints.forgetDropIn(full);
        // The agent has its own mount namespace (ProtectSystem=, PrivateTmp=) that does not receive the
        // host's new mounts: the tmpfs is mounted, filled and unmounted inside it, where the agent writes.
        String pid = full.systemctl("show", "-p", "MainPID", "--value", AGENT).stdout().strip();
        // Big enough for BeginTransfer's free-space check (file + 64 MiB margin), then filled mid-transfer.
        inAgentMounts(full, pid, "mount", "-t", "tmpfs", "-o", "size=100m", "tmpfs", STAGING).requireOk();
        try {
            Background run = Background.start(Pattern.compile("\\.\\.\\. \\[" + full.name() + "\\] \\d+/\\d+ bytes \\((25|50)%\\)"),
                    () -> fill(full, pid),
                    recover(t, "--chunk-size", "1024"));
            Cli.Result first = run.await();
            assertThat(first.exitCode()).as(first.all()).isEqualTo(1);
            assertThat(first.stdout()).contains("distribute failed on 1 of 3 hosts").contains(full.name())
                    .contains("no space left");
            assertNothingHalfWritten(t, testbed.hosts());
        } finally {
            inAgentMounts(full, pid, "sh", "-c", "umount " + STAGING + " || umount -l " + STAGING);
        }
        assertThat(inAgentMounts(full, pid, "sh", "-c", "grep -c ' " + STAGING + " ' /proc/self/mountinfo || true").stdout().strip())
                .isEqualTo("0");

        Cli.Result resumed = Cli.etcdRescue("resume", runDir(t).toString());
        assertRecovered(t, resumed);
    }

    /**
     * Two agents held by failpoints at the two steps of the recovery that otherwise take milliseconds, and
     * SIGKILLed there: host 1's after ConfigureMember renamed the env file into place and before it wrote
     * the unit; host 2's after CutOver enabled the new unit and before it stopped and disabled the old one.
     * Each kill fails the run with the host named; each file is then either absent or whole, and resume
     * (with the failpoints removed) goes on from there.
     */
    @Test
    @Order(5)
    void anAgentSigkilledMidConfigureAndAnotherMidCutOverLeaveEveryFileOldOrWholeAndResumeCompletes() throws Exception {
        Target t = Target.of("e", 26_000);
        TestHost configuring = testbed.host(1);
        TestHost cuttingOver = testbed.host(2);
        clearStaging();
        AgentFailpoints.writeDropIn(configuring, "configure.afterEnvFile=sleep(30s)");
        AgentFailpoints.writeDropIn(cuttingOver, "cutover.afterEnableNew=sleep(30s)");
        Set<TestHost> armed = java.util.concurrent.ConcurrentHashMap.newKeySet();
        armed.addAll(List.of(configuring, cuttingOver));
        try {
            AgentFailpoints.restart(configuring, cuttingOver);
            // Only the agents running now hold the failpoints: the ones systemd restarts after the kills run without.
            AgentFailpoints.forgetDropIn(configuring, cuttingOver);
            Path envFile = configuring.hostPath("/etc/default/" + t.unit());
            Background first = Background.start(Pattern.compile("^PHASE \\[configure\\]"), () -> {
                await().atMost(SHORT).pollInterval(Duration.ofMillis(50)).until(() -> Files.exists(envFile));
                AgentFailpoints.sigkillAgent(configuring);
                armed.remove(configuring);
            }, recover(t));
            Cli.Result killedInConfigure = first.await();
            System.out.printf("agent on %s SIGKILLed between env file and unit: configure failure line %d ms later%n",
                    configuring.name(), first.millisFromActionTo(Pattern.compile("^failed:\\s+\\[" + configuring.name() + "\\]")));
            assertThat(killedInConfigure.exitCode()).as(killedInConfigure.all()).isEqualTo(1);
            assertThat(killedInConfigure.stdout()).contains("configure failed on 1 of 3 hosts").contains(configuring.name())
                    .contains("etcd-rescue resume " + runDir(t));
            assertThat(Files.readString(envFile)).as("the env file written before the kill is whole")
                    .contains("ETCD_NAME=").contains("ETCD_INITIAL_CLUSTER=").endsWith("\n");
            assertThat(configuring.hostPath("/etc/systemd/system/" + t.unit() + ".service")).as("the unit never begun").doesNotExist();
            for (TestHost h : testbed.hosts()) {
                assertNoTemporaryFiles(h);
            }
            AgentFailpoints.waitListening(configuring);

            String oldEnabled = cuttingOver.systemctl("is-enabled", "etcd").stdout().strip();
            Background second = Background.start(Pattern.compile("^PHASE \\[cut-over\\]"), () -> {
                await().atMost(SHORT).pollInterval(Duration.ofMillis(100))
                        .until(() -> "enabled".equals(cuttingOver.systemctl("is-enabled", t.unit()).stdout().strip()));
                AgentFailpoints.sigkillAgent(cuttingOver);
                armed.remove(cuttingOver);
            }, "resume", runDir(t).toString());
            Cli.Result killedInCutOver = second.await();
            assertThat(killedInCutOver.exitCode()).as(killedInCutOver.all()).isEqualTo(1);
            assertThat(killedInCutOver.stdout()).contains("restore: done in an earlier attempt")
                    .contains("cut-over failed on 1 of 3 hosts").contains(cuttingOver.name()).contains("etcd-rescue resume");
            assertThat(cuttingOver.systemctl("is-enabled", "etcd").stdout().strip()).as("old unit not yet touched")
                    .isEqualTo(oldEnabled);
            AgentFailpoints.waitListening(cuttingOver);

            Cli.Result resumed = Cli.etcdRescue("resume", runDir(t).toString());
            assertThat(resumed.exitCode()).as(resumed.all()).isZero();
            for (TestHost h : testbed.hosts()) {
                assertThat(h.unitState(t.unit())).as("%s on %s", t.unit(), h.name()).isEqualTo("active");
                assertThat(h.systemctl("is-enabled", t.unit()).stdout().strip()).as("%s on %s", t.unit(), h.name()).isEqualTo("enabled");
                assertThat(h.unitState("etcd")).as("old etcd on %s", h.name()).isNotIn("active", "activating");
                assertThat(h.systemctl("is-enabled", "etcd").stdout().strip()).as("old etcd on %s", h.name()).isNotEqualTo("enabled");
                assertNoTemporaryFiles(h);
            }
            assertRecovered(t, resumed);
        } finally {
            if (!armed.isEmpty()) {
                AgentFailpoints.disarm(armed.toArray(TestHost[]::new));
            }
        }
        assertOldMemberIntact(testbed.hosts());
    }

    /**
     * The data root of one host fills while the coordinator drives the restore: a 160 MiB tmpfs under
     * /var/lib/etcd, in the agent's mount namespace, passes preflight (snapshot + 128 MiB) and is then
     * filled to 4 MiB free before the restore, which runs out of space writing the db.
     */
    @Test
    @Order(6)
    void aDataRootFilledBeforeTheRestoreIsACleanErrorNamingTheHostAndResumeCompletesOnceFreed() throws Exception {
        Target t = new Target("fg", "etcd_g", "/var/lib/etcd/small/g.etcd", 27_379, 27_380, 37_379);
        TestHost full = testbed.host(0);
        clearStaging();
        for (TestHost h : testbed.hosts()) {
            Files.createDirectories(h.hostPath("/var/lib/etcd/small"));
        }
        String pid = AgentFailpoints.agentPid(full);
        AgentFailpoints.inAgentMounts(full, pid, "mount", "-t", "tmpfs", "-o", "size=160m,mode=0755", "tmpfs", "/var/lib/etcd/small")
                .requireOk();
        try {
            Background run = Background.start(Pattern.compile("^PHASE \\[snapshot\\]"),
                    () -> AgentFailpoints.inAgentMounts(full, pid, "dd", "if=/dev/zero", "of=/var/lib/etcd/small/filler", "bs=1M",
                            "count=156").requireOk(),
                    recover(t, "--chunk-size", "16384"));
            Cli.Result first = run.await();
            assertThat(first.exitCode()).as(first.all()).isEqualTo(1);
            assertThat(first.stdout()).contains("restore failed on 1 of 3 hosts").contains(full.name())
                    .containsIgnoringCase("no space left");
            String inAgent = AgentFailpoints.inAgentMounts(full, pid, "ls", "-a", "/var/lib/etcd/small").requireOk().stdout();
            assertThat(inAgent).as("the data dir path on the full disk").doesNotContain("g.etcd\n").contains("g.etcd.etcd-rescue-");
            for (TestHost h : testbed.hosts()) {
                assertThat(h.hostPath("/etc/default/" + t.unit())).as("env file on %s", h.name()).doesNotExist();
                assertThat(h.hostPath("/etc/systemd/system/" + t.unit() + ".service")).as("unit on %s", h.name()).doesNotExist();
                assertNoTemporaryFiles(h);
            }
        } finally {
            AgentFailpoints.inAgentMounts(full, pid, "sh", "-c", "umount /var/lib/etcd/small || umount -l /var/lib/etcd/small");
        }
        Cli.Result resumed = Cli.etcdRescue("resume", runDir(t).toString());
        assertThat(resumed.stdout()).contains("distribute: done in an earlier attempt");
        assertRecovered(t, resumed);
        assertOldMemberIntact(testbed.hosts());
    }

    /**
     * The restore tool of one host fails while the coordinator drives the restore: an etcdctl that writes
     * a partial data dir, prints an I/O error and exits 3, bind-mounted over /usr/bin/etcdctl in that
     * agent's mount namespace only (the real machine's /usr is shared by every host). The run ends
     * naming the host and the tool's error; rollback then puts every host back.
     */
    @Test
    @Order(7)
    void aFailingRestoreToolIsACleanErrorNamingTheHostAndRollbackLeavesNothingBehind() throws Exception {
        Target t = Target.of("h", 28_000);
        TestHost broken = testbed.host(1);
        clearStaging();
        String tools = "/etc/etcd-rescue/fault-tools";
        Path wrapper = broken.hostPath(tools + "/etcdctl");
        Files.createDirectories(wrapper.getParent());
        Files.writeString(wrapper, """
                #!/bin/sh
                datadir=; restore=; help=
                for a in "$@"; do
                  case "$a" in
                    --data-dir=*) datadir="${a#--data-dir=}" ;;
                    restore) restore=1 ;;
                    -h|--help) help=1 ;;
                  esac
                done
                if [ -n "$restore" ] && [ -n "$datadir" ] && [ -z "$help" ]; then
                  mkdir -p "$datadir/member" && echo partial > "$datadir/member/partial"
                  echo "Error: write $datadir/member/snap/db: input/output error" >&2
                  exit 3
                fi
                exec %s/etcdctl.real "$@"
                """.formatted(tools));
        Files.setPosixFilePermissions(wrapper, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        broken.execOk(SHORT, "cp", "/usr/bin/etcdctl", tools + "/etcdctl.real");
        String pid = AgentFailpoints.agentPid(broken);
        AgentFailpoints.inAgentMounts(broken, pid, "mount", "--bind", tools + "/etcdctl", "/usr/bin/etcdctl").requireOk();
        Cli.Result first;
        try {
            first = Cli.etcdRescue(recover(t));
        } finally {
            AgentFailpoints.inAgentMounts(broken, pid, "sh", "-c", "umount /usr/bin/etcdctl || umount -l /usr/bin/etcdctl");
        }
        assertThat(first.exitCode()).as(first.all()).isEqualTo(1);
        assertThat(first.stdout()).contains("restore failed on 1 of 3 hosts").contains(broken.name())
                .contains("input/output error").contains("etcd-rescue rollback " + runDir(t));
        assertThat(broken.hostPath(t.dataDir())).as("no half-restored data dir where etcd would read it").doesNotExist();
        try (Stream<Path> aside = Files.list(broken.hostPath("/var/lib/etcd"))) {
            assertThat(aside.map(p -> p.getFileName().toString())).as("the partial output, kept aside")
                    .anyMatch(n -> n.startsWith("h.etcd.etcd-rescue-") && n.endsWith(".failed"));
        }

        Cli.Result rolledBack = Cli.etcdRescue("rollback", runDir(t).toString(), "--yes");
        assertThat(rolledBack.exitCode()).as(rolledBack.all()).isZero();
        assertNothingHalfWritten(t, testbed.hosts());
        assertOldMemberIntact(testbed.hosts());
    }

    private static void assertNoTemporaryFiles(TestHost h) throws IOException {
        for (String dir : List.of("/etc/default", "/etc/systemd/system", "/var/lib/etcd")) {
            try (Stream<Path> files = Files.list(h.hostPath(dir))) {
                assertThat(files.map(p -> p.getFileName().toString())).as("temp or partial files in %s on %s", dir, h.name())
                        .noneMatch(n -> n.contains(".tmp-") || n.endsWith(".part"));
            }
        }
    }

    /**
     * One host silently unreachable mid-transfer: the coordinator reaches its agent through a relay on the
     * host's own address that, once part of the upload went through, stops forwarding without closing
     * anything (packets dropped, see {@link BlackholeProxy}). The coordinator must give up on timeouts, not
     * hang. The agent,
     * which never hears that the coordinator gave up, keeps the stale upload open; a resume while it does
     * is refused naming it, and once the stale connection is reset (as the next segment after a
     * partition resets it) resume completes from the durable offset.
     */
    @Test
    @Order(8)
    void aSilentlyUnreachableAgentFailsTheRunOnTimeoutsAndResumeCompletesOnceReachable() throws Exception {
        Target t = Target.of("i", 29_000);
        TestHost unreachable = testbed.host(2);
        clearStaging();
        int relayPort = 17_443;
        String address = "          address: " + unreachable.address() + "\n";
        Path inventory = Inventories.write(work, t.cluster() + "-relay.yaml", Files.readString(inventory(t))
                .replace(address, address + "          agent_endpoint: " + unreachable.address() + ":" + relayPort + "\n"));
        try (BlackholeProxy relay = BlackholeProxy.start(unreachable.address(), relayPort, unreachable.address(), 7443)) {
            long[] silencedAt = new long[1];
            // 64 KiB chunks: at the first progress line between 10 % and 59 % the agent holds an open upload
            // with bytes in it (with 1 MiB chunks the first message may not even have arrived).
            Background run = Background.start(Pattern.compile("\\.\\.\\. \\[" + unreachable.name() + "\\] \\d+/\\d+ bytes \\([1-5]\\d%\\)"),
                    () -> {
                        relay.silence();
                        silencedAt[0] = System.nanoTime();
                    },
                    "recover", "-i", inventory.toString(), "--work-dir", work.resolve("runs-" + t.cluster()).toString(),
                    "--fence-port", Integer.toString(t.fencePort()), "--fence", "always", "--chunk-size", "65536");
            Cli.Result first = run.await();
            assertThat(first.exitCode()).as(first.all()).isEqualTo(1);
            assertThat(first.stdout()).contains("distribute failed on 1 of 3 hosts").contains(unreachable.name())
                    .containsPattern("(did not answer in time|Keepalive failed|unreachable)");
            long detected = run.millisFromActionTo(Pattern.compile("^failed:\\s+\\[" + unreachable.name() + "\\]"));
            System.out.printf("silent relay to %s: host failure line after %d ms, run ended after %d ms%n", unreachable.name(),
                    detected, run.millisFromActionToEnd());
            assertThat(detected).as("the run must not hang on a silent host").isLessThan(Duration.ofMinutes(3).toMillis());
            assertNothingHalfWritten(t, testbed.hosts());

            relay.heal();
            Cli.Result early = Cli.etcdRescue("resume", runDir(t).toString());
            long sinceSilence = (System.nanoTime() - silencedAt[0]) / 1_000_000;
            if (early.exitCode() == 0) {
                System.out.printf("resume %d ms after the silence: the agent had already ended the stale upload%n", sinceSilence);
                assertRecovered(t, early);
            } else {
                System.out.printf("resume %d ms after the silence refused: the stale upload is still open on the agent%n", sinceSilence);
                assertThat(early.stdout()).contains(unreachable.name()).contains("is still open");
                assertNothingHalfWritten(t, testbed.hosts());
                relay.resetSilenced();
                Thread.sleep(1000); // the agent's transport notices the reset and cancels the stream
                Cli.Result resumed = Cli.etcdRescue("resume", runDir(t).toString());
                assertThat(resumed.stdout()).containsPattern("\\[" + unreachable.name() + "\\].*resumed at \\d+");
                assertRecovered(t, resumed);
            }
        }
        assertOldMemberIntact(testbed.hosts());
    }

    /**
     * Two members cannot start (their peer port was taken after preflight, as another service might take
     * it) and the third waits for a quorum that never comes. Each agent waits for its host's start job,
     * so the failures are reported as soon as systemd has them, far within --start-timeout; the coordinator
     * then ends the third agent's wait (its systemctl ends, its agent is free at once) and rollback
     * leaves nothing behind.
     */
    @Test
    @Order(9)
    void membersThatFailToStartEndTheRunAtOnceAndTheOtherWaitsEnd() throws Exception {
        Target t = Target.of("s", 30_000);
        List<TestHost> broken = List.of(testbed.host(0), testbed.host(1));
        TestHost waiting = testbed.host(2);
        clearStaging();
        List<ServerSocket> squatters = new ArrayList<>();
        try {
            Background run = Background.start(Pattern.compile("^PHASE \\[restore\\]"), () -> {
                for (TestHost h : broken) {
                    try {
                        ServerSocket s = new ServerSocket();
                        s.bind(new InetSocketAddress(InetAddress.getByName(h.address()), t.peerPort()));
                        squatters.add(s);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            }, recover(t, "--start-timeout", "600"));
            Cli.Result r = run.await();
            assertThat(r.exitCode()).as(r.all()).isEqualTo(1);
            assertThat(r.stdout()).contains("start failed on").contains("etcd-rescue rollback " + runDir(t));
            // The first failure ends the phase; the other broken host may fail just before or after that.
            List<TestHost> named = broken.stream().filter(h -> Pattern.compile("failed:\\s+\\[" + h.name()
                    + "\\]\\s+etcd_s failed \\(failed\\); see 'journalctl -u etcd_s' on that host").matcher(r.stdout()).find()).toList();
            assertThat(named).as("a failed line for a host whose member could not start").isNotEmpty();
            for (TestHost h : named) {
                assertThat(h.journal(t.unit())).contains("address already in use");
            }
            assertThat(r.stdout()).doesNotContain("failed:  [" + waiting.name() + "]");
            long startedAt = run.millisFromActionTo(Pattern.compile("^PHASE \\[start\\]"));
            long reported = run.millisFromActionTo(Pattern.compile("^failed:\\s+\\[")) - startedAt;
            long ended = run.millisFromActionToEnd() - startedAt;
            System.out.printf("two members failing to start: reported %d ms into the start phase, run ended %d ms after it began%n",
                    reported, ended);
            assertThat(reported).as("as soon as systemd has the failure, not at --start-timeout").isLessThan(60_000);
            // Stopping the waiting host's member needs its agent, which a wait left running would hold until
            // --start-timeout (600 s): the run ends quickly only because the coordinator ended that wait.
            assertThat(r.stdout()).containsPattern("\\[" + waiting.name() + "\\]\\s+stopped etcd_s");
            assertThat(ended).as("the waiting host's agent was free to stop its member").isLessThan(120_000);
            await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(250)).untilAsserted(() ->
                    assertThat(waiting.exec(SHORT, "pgrep", "-f", "systemctl start [" + t.unit().charAt(0) + "]" + t.unit().substring(1)).exitCode())
                            .as("the wait for %s's start job on %s ended with the run", t.unit(), waiting.name()).isEqualTo(1));
        } finally {
            for (ServerSocket s : squatters) {
                s.close();
            }
        }
        long t0 = System.nanoTime();
        Cli.Result rolledBack = Cli.etcdRescue("rollback", runDir(t).toString(), "--yes");
        System.out.printf("rollback after the failed start: %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        assertThat(rolledBack.exitCode()).as(rolledBack.all()).isZero();
        for (TestHost h : testbed.hosts()) {
            // What rollback took away is kept beside, renamed (*.rolled-back-<operation>), never deleted.
            assertThat(h.hostPath(t.dataDir())).as("%s on %s", t.dataDir(), h.name()).doesNotExist();
            assertThat(h.hostPath("/etc/default/" + t.unit())).as("env file on %s", h.name()).doesNotExist();
            assertThat(h.hostPath("/etc/systemd/system/" + t.unit() + ".service")).as("unit on %s", h.name()).doesNotExist();
            assertThat(h.unitState(t.unit())).as("%s on %s", t.unit(), h.name()).isNotEqualTo("active").isNotEqualTo("activating");
            assertNoTemporaryFiles(h);
        }
        assertOldMemberIntact(testbed.hosts());
    }

    @Test
    @Order(10)
    void aHostThatIsDownIsRefusedInPreflightNamingIt() throws Exception {
        Target t = Target.of("d", 25_000);
        TestHost gone = testbed.host(2);
        testbed.down(gone);
        long t0 = System.nanoTime();
        Cli.Result r = Cli.etcdRescue(recover(t));
        System.out.printf("host %s down: preflight refused after %d ms%n", gone.name(), (System.nanoTime() - t0) / 1_000_000);
        assertThat(r.exitCode()).as(r.all()).isEqualTo(3);
        assertThat(r.stdout()).contains("preflight failed on 1 of 3 hosts").contains(gone.name()).contains("unreachable");
        assertNothingHalfWritten(t, testbed.hosts());
    }

    /** Runs argv inside the host, in the mount namespace of the process {@code pid} (the agent). */
    /** Fills the agent's staging tmpfs; fails the test (not silently) if the fill did not take. */
    private static void fill(TestHost h, String pid) {
        inAgentMounts(h, pid, "dd", "if=/dev/zero", "of=" + STAGING + "/filler", "bs=1M");
        String avail = inAgentMounts(h, pid, "df", "--output=avail", "-B1", STAGING).stdout().strip();
        long free = Long.parseLong(avail.substring(avail.lastIndexOf('\n') + 1).strip());
        if (free > 1024 * 1024) {
            throw new IllegalStateException("the staging tmpfs still has " + free + " bytes free after dd: " + avail);
        }
    }

    private static dev.etcdrescue.systemtest.testbed.ExecResult inAgentMounts(TestHost h, String pid, String... argv) {
        List<String> all = new ArrayList<>(List.of("nsenter", "-t", pid, "-m", "--"));
        all.addAll(List.of(argv));
        return h.exec(Duration.ofSeconds(60), all.toArray(String[]::new));
    }
}
