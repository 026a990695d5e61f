package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * {@code recover --distribution relay} on three testbed hosts, end to end: the coordinator sends the
 * snapshot once, to the first agent; the agents forward it along the chain with their own
 * certificates and the coordinator's grant; the cluster comes back with every key.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class RelayEndToEndTest {
    private static final int KEYS = 2_000;
    private Testbed testbed;
    private Path work;
    private Path inventory;
    private Map<String, String> written;

    @BeforeAll
    void threeHostsLoseTwoMembers() throws Exception {
        testbed = Testbed.create(3, Testbed.Options.defaults());
        work = Files.createTempDirectory("etcd-rescue-relay-");
        Path pki = work.resolve("pki");
        testbed.installAgents(pki);
        testbed.startOldCluster("old-relay");
        written = EtcdData.load(URI.create(Testbed.oldClientUrl(testbed.host(0))), "/registry/relay/", KEYS, 11);
        for (int i = 0; i < 2; i++) {
            testbed.killEtcdPermanently(testbed.host(i));
        }
        inventory = Inventories.write(work, "inventory.yaml", Inventories.seedLike("relay", testbed.hosts(), pki,
                Inventories.fromEndpoints(testbed.hosts())));
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    @Test
    void theCoordinatorSendsTheSnapshotOnceAndTheAgentsRelayIt() throws Exception {
        Cli.Result r = Cli.etcdRescue("recover", "-i", inventory.toString(), "-w", "json", "--distribution", "relay",
                "--work-dir", work.resolve("runs").toString());
        assertThat(r.exitCode()).as(r.all()).isZero();
        JsonNode report = new ObjectMapper().readTree(r.stdout());
        assertThat(report.get("success").asBoolean()).isTrue();
        JsonNode snapshot = report.get("snapshot");
        assertThat(snapshot.get("distribution").asText()).isEqualTo("relay");
        assertThat(snapshot.has("relayFailure")).as(r.all()).isFalse();
        long size = snapshot.get("size").asLong();
        // Measured on the wire: the chunks once, plus the messages' framing and the other RPCs of the two phases.
        assertThat(snapshot.get("coordinatorBytesSent").asLong()).as("sent once, not once per host").isBetween(size, size + size / 100);
        assertThat(snapshot.get("coordinatorWireBytesRatio").asDouble()).as("received once from etcd, sent once").isBetween(2.0, 2.05);
        assertThat(r.stderr()).contains("relay: " + testbed.host(0).name() + " -> " + testbed.host(1).name() + " -> "
                + testbed.host(2).name());
        int relayed = 0;
        for (JsonNode n : report.get("results")) {
            if (n.get("phase").asText().equals("DISTRIBUTE") && n.get("message").asText().contains("relay")) {
                relayed++;
            }
        }
        assertThat(relayed).as(r.all()).isEqualTo(3);
        for (TestHost h : testbed.hosts()) {
            Map<String, String> back = EtcdData.readAll(URI.create("http://" + h.address() + ":22379"), "/registry/relay/");
            assertThat(back).as("keys read back from %s", h.name()).hasSize(KEYS).isEqualTo(new TreeMap<>(written));
        }
    }
}
