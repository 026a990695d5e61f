package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * A chain from the survivor's agent loses a hop mid-way: the first hop's agent is SIGKILLed while it holds
 * half the snapshot (the failpoint transfer.midway holds it there), as a crash or the OOM killer would end
 * it. The run names the hop; the hosts the chain had not fed in full get the rest by fan-out from the
 * source, from their durable offsets; every staged copy has the snapshot's digest and nothing partial or
 * corrupt is left staged; every key is read back from the new cluster. etcd 3.4 (restores with etcdctl).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class SourceChainHopLostEndToEndTest {
    private static final int KEYS = 6_000;
    private static final String PREFIX = "/registry/chain/";
    private static final String STAGING = "/var/lib/etcd-rescue-agent/staging";
    private Testbed testbed;
    private TestHost source;
    private TestHost firstHop;
    private Path work;
    private Path inventory;
    private Map<String, String> written;

    @BeforeAll
    void threeHostsLoseTwoMembers() throws Exception {
        testbed = Testbed.create(3, Testbed.Options.defaults().withHostPrefix("srcc"));
        work = Files.createTempDirectory("etcd-rescue-chain-");
        source = testbed.host(2);
        firstHop = testbed.host(0);
        // Held at half the file, long enough for the kill; the agent systemd restarts runs without it.
        AgentFailpoints.writeDropIn(firstHop, "transfer.midway=1*sleep(60s)");
        testbed.installAgents(work.resolve("pki"));
        testbed.startOldCluster("old-chain");
        written = new TreeMap<>(EtcdData.load(URI.create(Testbed.oldClientUrl(source)), PREFIX, KEYS, 31, 4096));
        testbed.killEtcdPermanently(testbed.host(0));
        testbed.killEtcdPermanently(testbed.host(1));
        inventory = Inventories.write(work, "inventory.yaml", Inventories.seedLike("chain", testbed.hosts(), work.resolve("pki"),
                Inventories.fromEndpoints(testbed.hosts())));
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    @Test
    void theHostsALostHopFedGetTheRestFromTheSourceAndNothingCorruptIsKept() throws Exception {
        Path runs = work.resolve("runs");
        // The coordinator's once-a-second status line for the first hop, while the failpoint holds it at half the file.
        Pattern heldAtHalf = Pattern.compile("\\[" + firstHop.name() + "\\] [\\d.]+ MiB received from " + source.name() + " in \\d+s");
        Background run = Background.start(heldAtHalf, () -> {
            AgentFailpoints.forgetDropIn(firstHop);
            AgentFailpoints.sigkillAgent(firstHop);
        }, "recover", "-i", inventory.toString(), "--distribution", "source-chain", "--work-dir", runs.toString());
        Cli.Result first = run.await();
        assertThat(first.stdout()).as("the chain starts at the killed hop").contains(source.name() + " sends the snapshot to "
                + firstHop.name() + " -> " + testbed.host(1).name() + " (chain)");
        Cli.Result done = first;
        if (first.exitCode() != 0) {
            // The killed agent was not back within the coordinator's retries: the run says so, and resume completes it.
            assertThat(first.exitCode()).as(first.all()).isEqualTo(1);
            assertThat(first.stdout()).contains(firstHop.name()).contains("Nothing outside the agents' staging dirs was changed");
            AgentFailpoints.waitListening(firstHop);
            try (Stream<Path> dirs = Files.list(runs)) {
                done = Cli.etcdRescue("resume", dirs.findFirst().orElseThrow().toString());
            }
            assertThat(done.exitCode()).as(done.all()).isZero();
        } else {
            System.out.printf("hop %s SIGKILLed at half the file: the run went on by itself, %d ms from the kill to its end%n",
                    firstHop.name(), run.millisFromActionToEnd());
        }
        String all = first.stdout() + done.stdout();
        assertThat(all).as("a later round fans out from the source to the hosts the chain left short")
                .containsPattern("round \\d: " + source.name() + " sends the snapshot to .*" + testbed.host(1).name() + ".* \\(fan-out\\)");
        assertThat(firstHop.journal(AgentFailpoints.AGENT)).as("systemd restarted the killed agent")
                .containsPattern("(?i)(killed|SIGKILL|Scheduled restart)");

        JsonNode snapshot = new ObjectMapper().readTree(runs.resolve(runDir(runs)).resolve("report.json").toFile()).get("snapshot");
        String sha = snapshot.get("sha256").asText();
        String transferId = "sha256-" + sha.substring(0, 32);
        assertThat(snapshot.get("coordinatorWireBytesRatio").asDouble()).as("no snapshot byte through the coordinator").isLessThan(0.01);
        for (TestHost h : testbed.hosts()) {
            Path staging = h.hostPath(STAGING);
            assertThat(Trees.sha256(staging.resolve(transferId + ".db"))).as("the copy staged on %s", h.name()).isEqualTo(sha);
            try (Stream<Path> files = Files.list(staging)) {
                assertThat(files.map(p -> p.getFileName().toString())).as("staging on %s", h.name())
                        .noneMatch(n -> n.endsWith(".part")).noneMatch(n -> n.contains(".corrupt-"));
            }
        }
        for (TestHost h : testbed.hosts()) {
            assertThat(EtcdData.readAll(URI.create("http://" + h.address() + ":22379"), PREFIX)).as("keys read back from %s", h.name())
                    .hasSize(KEYS).isEqualTo(written);
        }
    }

    private static String runDir(Path runs) throws IOException {
        try (Stream<Path> dirs = Files.list(runs)) {
            return dirs.findFirst().orElseThrow().getFileName().toString();
        }
    }
}
