package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.systemtest.testbed.ExecResult;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Every unit file in deploy/ passes {@code systemd-analyze verify} as installed on a host (by install-agent.sh
 * from the distribution), with no complaint about its directives; a misspelt copy does not.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class DeployUnitsTest {
    /** What systemd says about a directive or section it does not understand or cannot parse. */
    private static final Pattern COMPLAINT = Pattern.compile(
            "Unknown (key name|section|lvalue)|Failed to parse|Invalid|ignoring", Pattern.CASE_INSENSITIVE);
    private static final Duration VERIFY_TIMEOUT = Duration.ofSeconds(60);
    private Testbed testbed;
    private TestHost host;

    @BeforeAll
    void oneHostWithTheAgentInstalled() throws IOException {
        testbed = Testbed.create(1, Testbed.Options.defaults().withHostPrefix("units"));
        host = testbed.host(0);
        testbed.installAgents(Files.createTempDirectory("etcd-rescue-units-").resolve("pki"));
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    @Test
    void everyUnitInDeployVerifiesCleanlyAsInstalled() throws IOException {
        List<Path> units = unitFilesInDeploy();
        assertThat(units).as("unit files in deploy/").isNotEmpty();
        for (Path unit : units) {
            String installed = "/etc/systemd/system/" + unit.getFileName();
            assertThat(host.hostPath(installed)).as("installed by install-agent.sh").isRegularFile();
            ExecResult verify = host.exec(VERIFY_TIMEOUT, "systemd-analyze", "verify", installed);
            System.out.println(verify.describe());
            assertThat(verify.exitCode()).as(verify.describe()).isZero();
            assertThat(verify.stdout() + verify.stderr()).as(verify.describe()).doesNotContainPattern(COMPLAINT);
        }
    }

    /** The negative control: the same check on a copy with one directive misspelt must complain. */
    @Test
    void aMisspeltDirectiveIsCaught() throws IOException {
        for (Path unit : unitFilesInDeploy()) {
            String original = host.readFile("/etc/systemd/system/" + unit.getFileName());
            String misspelt = original.replaceFirst("(?m)^Restart=", "Restrat=");
            assertThat(misspelt).as("the unit has a Restart= line to misspell").isNotEqualTo(original);
            // Same file name (it names the unit), in a dir systemd does not load units from.
            String copy = "/opt/units-check/" + unit.getFileName();
            host.writeFile(copy, misspelt);
            ExecResult verify = host.exec(VERIFY_TIMEOUT, "systemd-analyze", "verify", copy);
            System.out.println(verify.describe());
            assertThat(verify.exitCode() != 0 || COMPLAINT.matcher(verify.stdout() + verify.stderr()).find())
                    .as("systemd-analyze verify must fail or warn on Restrat=:\n" + verify.describe()).isTrue();
            assertThat(verify.stdout() + verify.stderr()).contains("Restrat");
        }
    }

    /**
     * The agent runs with the JIT directives install-agent.sh put next to its jars, and the JVM accepts
     * them: a file it cannot parse would keep the agent from starting at all (the negative control).
     */
    @Test
    void theAgentRunsWithTheCompilerDirectives() {
        String directives = "/opt/etcd-rescue/lib/jvm/compiler-directives.json";
        assertThat(host.hostPath(directives)).as("installed by install-agent.sh").isRegularFile();
        String pid = host.systemctl("show", "-p", "MainPID", "--value", "etcd-rescue-agent").stdout().strip();
        assertThat(pid).as("the agent's main pid").matches("[1-9][0-9]*");
        String cmdline = host.exec(VERIFY_TIMEOUT, "cat", "/proc/" + pid + "/cmdline").stdout().replace('\0', ' ');
        assertThat(cmdline).contains("-XX:CompilerDirectivesFile=" + directives, "-XX:+UnlockDiagnosticVMOptions");

        ExecResult accepted = host.exec(VERIFY_TIMEOUT, "java", "-XX:+UnlockDiagnosticVMOptions",
                "-XX:CompilerDirectivesFile=" + directives, "-version");
        assertThat(accepted.exitCode()).as(accepted.describe()).isZero();
        assertThat(accepted.stdout()).as(accepted.describe()).contains("compiler directives added");

        host.writeFile("/opt/units-check/broken-directives.json", host.readFile(directives).replace("match:", "mtch:"));
        ExecResult refused = host.exec(VERIFY_TIMEOUT, "java", "-XX:+UnlockDiagnosticVMOptions",
                "-XX:CompilerDirectivesFile=/opt/units-check/broken-directives.json", "-version");
        assertThat(refused.exitCode()).as(refused.describe()).isNotZero();
    }

    private static List<Path> unitFilesInDeploy() throws IOException {
        try (Stream<Path> files = Files.walk(Cli.projectRoot().resolve("deploy"))) {
            return files.filter(f -> f.toString().matches(".*\\.(service|socket|timer|target|path|mount)$")).sorted()
                    .toList();
        }
    }
}
