package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
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
                work.resolve("runs-" + t.cluster()).toString(), "--fence-port", Integer.toString(t.fencePort())));
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
     * systemd restarts the agent (TransferRetry: 5 attempts within a minute). If the agent is not back
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
        // The agent has its own mount namespace (ProtectSystem=, PrivateTmp=) that does not receive the
        // host's new mounts: the tmpfs is mounted, filled and unmounted inside it, where the agent writes.
        String pid = full.systemctl("show", "-p", "MainPID", "--value", AGENT).stdout().strip();
        // Big enough for BeginTransfer's free-space check (file + 64 MiB margin), then filled mid-transfer.
        inAgentMounts(full, pid, "mount", "-t", "tmpfs", "-o", "size=100m", "tmpfs", STAGING).requireOk();
        try {
            Background run = Background.start(Pattern.compile("\\.\\.\\. \\[" + full.name() + "\\] \\d+/\\d+ bytes \\((25|50)%\\)"),
                    () -> inAgentMounts(full, pid, "dd", "if=/dev/zero", "of=" + STAGING + "/filler", "bs=1M"),
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

    @Test
    @Order(5)
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
    private static dev.etcdrescue.systemtest.testbed.ExecResult inAgentMounts(TestHost h, String pid, String... argv) {
        List<String> all = new ArrayList<>(List.of("nsenter", "-t", pid, "-m", "--"));
        all.addAll(List.of(argv));
        return h.exec(Duration.ofSeconds(60), all.toArray(String[]::new));
    }

    /**
     * {@code etcd-rescue ARGS} in the background; when a line of its output matches {@code trigger},
     * {@code action} runs once (the fault), and the time of every line after it is kept.
     */
    private static final class Background {
        private final Process process;
        private final Thread reader;
        private final StringBuilder out = new StringBuilder();
        private final List<long[]> lineTimes = new ArrayList<>();
        private final List<String> lines = new ArrayList<>();
        private volatile long actionAt;
        private volatile long endedAt;
        private volatile RuntimeException actionFailure;

        private Background(Process process, Pattern trigger, Runnable action) {
            this.process = process;
            this.reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = in.readLine()) != null) {
                        synchronized (this) {
                            out.append(line).append('\n');
                            lines.add(line);
                            lineTimes.add(new long[] {System.nanoTime()});
                        }
                        if (actionAt == 0 && trigger.matcher(line).find()) {
                            actionAt = System.nanoTime();
                            try {
                                action.run();
                            } catch (RuntimeException e) {
                                actionFailure = e;
                            }
                        }
                    }
                } catch (IOException e) {
                    // The process ended.
                }
                endedAt = System.nanoTime();
            }, "etcd-rescue-output");
            reader.start();
        }

        static Background start(Pattern trigger, Runnable action, String... args) throws IOException {
            List<String> argv = new ArrayList<>();
            argv.add(Cli.projectRoot().resolve("deploy/bin/etcd-rescue").toString());
            argv.addAll(List.of(args));
            Process p = new ProcessBuilder(argv).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            System.out.println("$ etcd-rescue " + String.join(" ", args) + "  (background)");
            return new Background(p, trigger, action);
        }

        Cli.Result await() throws InterruptedException {
            if (!process.waitFor(10, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                throw new AssertionError("etcd-rescue did not end within 10 minutes:\n" + out);
            }
            reader.join(10_000);
            System.out.println(out);
            if (actionFailure != null) {
                throw new AssertionError("the fault could not be injected: " + actionFailure.getMessage() + "\n" + out, actionFailure);
            }
            assertThat(actionAt).as("the trigger line never appeared:\n" + out).isPositive();
            return new Cli.Result(process.exitValue(), out.toString(), "");
        }

        /** Milliseconds from the fault to the first later line matching {@code text}. */
        synchronized long millisFromActionTo(Pattern text) {
            for (int i = 0; i < lines.size(); i++) {
                if (lineTimes.get(i)[0] >= actionAt && text.matcher(lines.get(i)).find()) {
                    return (lineTimes.get(i)[0] - actionAt) / 1_000_000;
                }
            }
            throw new AssertionError("no line with '" + text + "' after the fault:\n" + out);
        }

        long millisFromActionToEnd() {
            return (endedAt - actionAt) / 1_000_000;
        }
    }
}
