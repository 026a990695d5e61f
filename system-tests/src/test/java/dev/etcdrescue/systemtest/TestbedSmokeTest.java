package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.systemtest.testbed.EtcdVersion;
import dev.etcdrescue.systemtest.testbed.ExecResult;
import dev.etcdrescue.systemtest.testbed.RunLeftovers;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The testbed itself: hosts with real systemd and etcd come up, behave like etcd hosts, and leave nothing. */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class TestbedSmokeTest {
    private static final Duration SHORT = Duration.ofSeconds(30);

    @Test
    void oldClusterSurvivorServesSerializableReadsAfterFourMembersDie() {
        Path runDir;
        String cgroupPrefix;
        List<Long> systemdPids = new ArrayList<>();
        try (Testbed testbed = Testbed.create(5, Testbed.Options.defaults())) {
            runDir = testbed.runDir();
            cgroupPrefix = testbed.cgroupPrefix();
            testbed.hosts().forEach(h -> systemdPids.add(h.systemdPid()));
            assertThat(testbed.hosts()).extracting(TestHost::name)
                    .containsExactly("member-0", "member-1", "member-2", "member-3", "member-4");

            testbed.startOldCluster("smoke-old");
            // The leftover check below must be able to fail: while the run is up it sees the hosts' etcds.
            assertThat(RunLeftovers.of(runDir, cgroupPrefix, systemdPids))
                    .anyMatch(left -> left.contains("/usr/bin/etcd")).anyMatch(left -> left.startsWith("cgroup "));
            TestHost survivor = testbed.host(4);
            survivor.execOk(SHORT, "etcdctl", "--endpoints=" + Testbed.oldClientUrl(testbed.host(0)),
                    "put", "smoke-key", "smoke-value");
            assertThat(survivor.hostPath("/var/lib/etcd/default/member/snap/db")).exists();
            assertThat(survivor.readFile("/etc/default/etcd")).contains("ETCD_NAME=member-4");
            for (int i = 0; i < 4; i++) {
                testbed.killEtcdPermanently(testbed.host(i));
                assertThat(testbed.host(i).unitState("etcd")).isIn("failed", "inactive");
            }

            ExecResult read = survivor.execOk(SHORT, "etcdctl", "--endpoints=" + Testbed.oldClientUrl(survivor),
                    "--consistency=s", "get", "smoke-key", "--print-value-only");
            assertThat(read.stdout().strip()).isEqualTo("smoke-value");
            ExecResult linearizable = survivor.exec(SHORT, "etcdctl", "--endpoints=" + Testbed.oldClientUrl(survivor),
                    "--command-timeout=3s", "get", "smoke-key");
            assertThat(linearizable.ok()).as("a linearizable read needs the lost quorum").isFalse();
        }
        assertNothingLeft(runDir, cgroupPrefix, systemdPids);
    }

    @Test
    void etcd35HostRunsEtcdutlAndEtcd3516() {
        Path runDir;
        String cgroupPrefix;
        List<Long> systemdPids = new ArrayList<>();
        try (Testbed testbed = Testbed.create(1,
                Testbed.Options.defaults().withEtcd(EtcdVersion.V3_5_16).withHostPrefix("new"))) {
            runDir = testbed.runDir();
            cgroupPrefix = testbed.cgroupPrefix();
            TestHost host = testbed.host(0);
            systemdPids.add(host.systemdPid());
            assertThat(host.name()).isEqualTo("new-0");

            assertThat(host.execOk(SHORT, "etcdutl", "version").stdout()).contains("etcdutl version: 3.5.16");
            assertThat(host.execOk(SHORT, "etcd", "--version").stdout()).contains("etcd Version: 3.5.16");
            assertThat(host.execOk(SHORT, "sh", "-c", "command -v etcdutl").stdout().strip())
                    .isEqualTo("/usr/local/bin/etcdutl");

            testbed.startOldCluster("smoke-35");
            assertThat(host.execOk(SHORT, "etcdctl", "--endpoints=" + Testbed.oldClientUrl(host),
                    "endpoint", "status", "-w", "json").stdout()).contains("\"version\":\"3.5.16\"");
        }
        assertNothingLeft(runDir, cgroupPrefix, systemdPids);
    }

    @Test
    void agentInstallsAsAServiceAndAReinstallKeepsAChangedConfig(@TempDir Path pkiDir) throws IOException {
        Path runDir;
        String cgroupPrefix;
        List<Long> systemdPids = new ArrayList<>();
        try (Testbed testbed = Testbed.create(2, Testbed.Options.defaults())) {
            runDir = testbed.runDir();
            cgroupPrefix = testbed.cgroupPrefix();
            testbed.hosts().forEach(h -> systemdPids.add(h.systemdPid()));

            testbed.installAgents(pkiDir);
            assertThat(pkiDir.resolve("coordinator.pem")).exists();
            for (TestHost host : testbed.hosts()) {
                assertThat(host.unitState("etcd-rescue-agent")).isEqualTo("active");
                host.execOk(SHORT, "systemd-analyze", "verify", "/etc/systemd/system/etcd-rescue-agent.service");
                assertThat(host.readFile("/etc/etcd-rescue/agent.yaml"))
                        .contains("host_name: " + host.name(), "listen: " + Testbed.agentAddress(host));
                assertThat(mode(host.hostPath("/etc/etcd-rescue/tls/agent-key.pem"))).isEqualTo("rw-------");
                assertThat(mode(host.hostPath("/var/lib/etcd-rescue-agent"))).isEqualTo("rwx------");
                assertThat(host.hostPath("/opt/etcd-rescue/bin/etcd-rescue-agent")).isExecutable();
            }

            // An operator's edit to agent.yaml is moved aside by the next install, never lost.
            TestHost host = testbed.host(0);
            String edited = host.readFile("/etc/etcd-rescue/agent.yaml") + "# edited by hand\n";
            host.writeFile("/etc/etcd-rescue/agent.yaml", edited);
            testbed.installAgents(pkiDir);
            try (var aside = Files.list(host.hostPath("/etc/etcd-rescue"))) {
                List<Path> replaced = aside.filter(p -> p.getFileName().toString().startsWith("agent.yaml.replaced-"))
                        .toList();
                assertThat(replaced).hasSize(1);
                assertThat(Files.readString(replaced.get(0), StandardCharsets.UTF_8)).isEqualTo(edited);
            }
            assertThat(host.unitState("etcd-rescue-agent")).isEqualTo("active");

            ExecResult uninstall = host.execOk(Duration.ofSeconds(90),
                    testbed.runDir().resolve("dist/etcd-rescue/deploy/uninstall-agent.sh").toString());
            assertThat(uninstall.stdout()).contains("kept /etc/etcd-rescue");
            assertThat(host.unitState("etcd-rescue-agent")).isEqualTo("inactive");
            assertThat(host.hostPath("/etc/systemd/system/etcd-rescue-agent.service")).doesNotExist();
            assertThat(host.hostPath("/opt/etcd-rescue")).doesNotExist();
            assertThat(host.hostPath("/etc/etcd-rescue/agent.yaml")).exists();
            assertThat(host.hostPath("/etc/default/etcd")).exists();

            TestHost purged = testbed.host(1);
            purged.execOk(Duration.ofSeconds(90),
                    testbed.runDir().resolve("dist/etcd-rescue/deploy/uninstall-agent.sh").toString(), "--purge");
            assertThat(purged.hostPath("/etc/etcd-rescue")).isEmptyDirectory();
            assertThat(purged.hostPath("/var/lib/etcd-rescue-agent")).isEmptyDirectory();
            assertThat(purged.hostPath("/etc/default/etcd")).exists();
        }
        assertNothingLeft(runDir, cgroupPrefix, systemdPids);
    }

    private static String mode(Path path) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
    }

    private static void assertNothingLeft(Path runDir, String cgroupPrefix, List<Long> systemdPids) {
        assertThat(RunLeftovers.of(runDir, cgroupPrefix, systemdPids)).isEmpty();
        // The same from the outside, as an operator would look: no testbed systemd or etcd of this run.
        for (String pattern : List.of("systemd --system --unit=testbed.target", "/usr/bin/etcd")) {
            for (long pid : pgrep(pattern)) {
                assertThat(systemdPids).as("pgrep -f '%s' found a host pid of this run", pattern).doesNotContain(pid);
                assertThat(cgroupOf(pid)).as("pid %d (%s)", pid, pattern).doesNotContain(cgroupPrefix);
            }
        }
    }

    private static List<Long> pgrep(String pattern) {
        try {
            Process process = new ProcessBuilder("pgrep", "-f", pattern).redirectErrorStream(true).start();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            process.waitFor(10, TimeUnit.SECONDS);
            return out.lines().map(String::strip).filter(s -> !s.isEmpty()).map(Long::parseLong).toList();
        } catch (IOException e) {
            throw new IllegalStateException("pgrep failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String cgroupOf(long pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/cgroup"));
        } catch (IOException gone) {
            return "";
        }
    }
}
