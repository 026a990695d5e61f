package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.systemtest.testbed.EtcdVersion;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
 * The default recovery on three testbed hosts with etcd 3.5: the survivor's agent takes the snapshot of its own member
 * and sends it to the other two agents itself, so the coordinator carries a few KB, not the snapshot.
 * The coordinator is SIGKILLed while the source sends (a failpoint holds SendSnapshot there), and the
 * resume finishes without taking a second snapshot. Checked from the report, from the agents' own audit
 * logs and staged files, and by reading every key back from the new cluster.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class SourceDistributionEndToEndTest {
    private static final int KEYS = 6_000;
    private static final String PREFIX = "/registry/source/";
    private static final String AUDIT = "/var/lib/etcd-rescue-agent/audit.log";
    /** Long enough for the kill to land while the source holds the call, short enough for the resume not to wait long. */
    private static final String HOLD_SEND = "rpc.SendSnapshot=1*sleep(8s)";
    private Testbed testbed;
    private TestHost source;
    private Path work;
    private Path inventory;
    private Map<String, String> written;

    @BeforeAll
    void threeHostsLoseTwoMembers() throws Exception {
        // etcd 3.5 (etcdutl reads the snapshot's status); CoordinatorKillTest runs this path on 3.4.
        testbed = Testbed.create(3, Testbed.Options.defaults().withEtcd(EtcdVersion.V3_5_16).withHostPrefix("srcd"));
        work = Files.createTempDirectory("etcd-rescue-source-");
        source = testbed.host(2);
        AgentFailpoints.writeDropIn(source, HOLD_SEND);
        testbed.installAgents(work.resolve("pki"));
        testbed.startOldCluster("old-source");
        written = new TreeMap<>(EtcdData.load(URI.create(Testbed.oldClientUrl(source)), PREFIX, KEYS, 23, 4096));
        testbed.killEtcdPermanently(testbed.host(0));
        testbed.killEtcdPermanently(testbed.host(1));
        inventory = Inventories.write(work, "inventory.yaml", Inventories.seedLike("source", testbed.hosts(), work.resolve("pki"),
                Inventories.fromEndpoints(testbed.hosts())));
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    @Test
    void theSourceSendsTheSnapshotTheCoordinatorCarriesAFewKbAndAResumeTakesNoSecondSnapshot() throws Exception {
        Path runs = work.resolve("runs");
        // Two seconds after the line: SendSnapshot has reached the source, which holds it for eight.
        String killed = Cli.killWhen(Pattern.compile("sends the snapshot to .*\\(fan-out\\)"), Duration.ofSeconds(2), "recover", "-i",
                inventory.toString(), "--work-dir", runs.toString());
        assertThat(killed).contains("distribution source-fanout").contains("taken by the agent on " + source.name())
                .contains("the coordinator received none of it");
        Path run;
        try (Stream<Path> dirs = Files.list(runs)) {
            run = dirs.findFirst().orElseThrow();
        }

        long t0 = System.nanoTime();
        Cli.Result resumed = Cli.etcdRescue("resume", run.toString());
        System.out.printf("resume after the kill: exit %d in %d ms%n", resumed.exitCode(), (System.nanoTime() - t0) / 1_000_000);
        assertThat(resumed.exitCode()).as(resumed.all()).isZero();
        assertThat(resumed.stdout()).contains("snapshot: done in an earlier attempt");
        assertThat(resumed.stdout()).as("agent to agent over the receivers' data channels, not RelaySnapshot")
                .contains("from " + source.name() + " (fan-out, data channel)");

        JsonNode snapshot = new ObjectMapper().readTree(run.resolve("report.json").toFile()).get("snapshot");
        long size = snapshot.get("size").asLong();
        long carried = snapshot.get("coordinatorBytesSent").asLong() + snapshot.get("coordinatorBytesReceived").asLong();
        double ratio = snapshot.get("coordinatorWireBytesRatio").asDouble();
        System.out.printf("snapshot %d bytes; the coordinator sent %d and received %d bytes for it (ratio %.5f, %d bytes per host)%n",
                size, snapshot.get("coordinatorBytesSent").asLong(), snapshot.get("coordinatorBytesReceived").asLong(), ratio, carried / 3);
        assertThat(snapshot.get("distribution").asText()).isEqualTo("source-fanout");
        assertThat(snapshot.get("storageVersion").asText()).as("the source member's etcd wrote it").isEqualTo("3.5");
        assertThat(size).as("a snapshot large enough for the ratio to mean something").isGreaterThan(8L << 20);
        assertThat(ratio).isLessThanOrEqualTo(0.01);
        assertThat(carried / 3).as("bytes per host").isLessThan(32 * 1024);

        String sha = snapshot.get("sha256").asText();
        String transferId = "sha256-" + sha.substring(0, 32);
        // The killed run's SendSnapshot is audited once the source's hold ends, which may come after the resume.
        String sourceAudit = await().atMost(Duration.ofSeconds(20)).until(() -> source.readFile(AUDIT),
                a -> count(a, "\"rpc\":\"SendSnapshot\"") == 2);
        assertThat(count(sourceAudit, "\"rpc\":\"TakeSnapshot\"")).as("one snapshot, taken once, by the source's agent:%n%s", sourceAudit)
                .isEqualTo(1);
        assertThat(sourceAudit).contains("\"rpc\":\"TakeSnapshot\",\"cluster\":\"source\"");
        for (TestHost h : testbed.hosts()) {
            Path staged = h.hostPath("/var/lib/etcd-rescue-agent/staging/" + transferId + ".db");
            assertThat(Trees.sha256(staged)).as("the file staged on %s", h.name()).isEqualTo(sha);
            try (Stream<Path> files = Files.list(staged.getParent())) {
                assertThat(files.map(p -> p.getFileName().toString())).as("staging on %s", h.name())
                        .noneMatch(n -> n.startsWith("local-snapshot-")).filteredOn(n -> n.endsWith(".db")).containsExactly(transferId + ".db");
            }
            if (h != source) {
                String audit = h.readFile(AUDIT);
                assertThat(audit).as("%s received it from the source's agent", h.name())
                        .contains("\"peer\":\"" + source.name() + "\",\"rpc\":\"RelaySnapshot\"")
                        .doesNotContain("\"rpc\":\"UploadSnapshot\"");
            }
        }
        for (TestHost h : testbed.hosts()) {
            Map<String, String> back = EtcdData.readAll(URI.create("http://" + h.address() + ":22379"), PREFIX);
            assertThat(back).as("keys read back from %s", h.name()).hasSize(KEYS).isEqualTo(written);
        }
    }

    private static int count(String text, String what) {
        return text.split(Pattern.quote(what), -1).length - 1;
    }
}
