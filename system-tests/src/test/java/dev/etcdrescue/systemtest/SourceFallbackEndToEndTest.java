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
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The survivor's agent cannot take the snapshot (a failpoint fails its TakeSnapshot twice, as a host
 * without etcdctl would): a forced {@code --distribution source-fanout} stops with the host and the
 * reason and changes nothing; the default says why and recovers through the coordinator instead.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class SourceFallbackEndToEndTest {
    private static final String PREFIX = "/registry/fallback/";
    private static final String WHY = "the test has no etcdctl here";
    private Testbed testbed;
    private TestHost source;
    private Path work;
    private Path inventory;
    private Map<String, String> written;

    @BeforeAll
    void threeHostsLoseTwoMembers() throws Exception {
        testbed = Testbed.create(3, Testbed.Options.defaults().withHostPrefix("srcf"));
        work = Files.createTempDirectory("etcd-rescue-fallback-");
        source = testbed.host(2);
        AgentFailpoints.writeDropIn(source, "rpc.TakeSnapshot=2*error(" + WHY + ")");
        testbed.installAgents(work.resolve("pki"));
        testbed.startOldCluster("old-fallback");
        written = new TreeMap<>(EtcdData.load(URI.create(Testbed.oldClientUrl(source)), PREFIX, 2_000, 29, 1024));
        testbed.killEtcdPermanently(testbed.host(0));
        testbed.killEtcdPermanently(testbed.host(1));
        inventory = Inventories.write(work, "inventory.yaml", Inventories.seedLike("fallback", testbed.hosts(), work.resolve("pki"),
                Inventories.fromEndpoints(testbed.hosts())));
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    @Test
    @Order(1)
    void aForcedSourceRouteStopsNamingTheHostAndTheReasonAndChangesNothing() throws Exception {
        Cli.Result r = Cli.etcdRescue("recover", "-i", inventory.toString(), "--distribution", "source-fanout", "--work-dir",
                work.resolve("forced").toString());
        assertThat(r.exitCode()).as(r.all()).isEqualTo(1);
        assertThat(r.all()).contains("[" + source.name() + "] the agent could not take the snapshot: ").contains(WHY)
                .contains("Nothing was changed on any host").contains("--distribution streamed").doesNotContain("\tat ");
        for (TestHost h : testbed.hosts()) {
            assertThat(h.hostPath("/var/lib/etcd/new.etcd")).as("no restore on %s", h.name()).doesNotExist();
            assertThat(h.hostPath("/etc/default/etcd_new")).doesNotExist();
        }
    }

    @Test
    @Order(2)
    void theDefaultSaysWhyAndTheCoordinatorTakesTheSnapshotInstead() throws Exception {
        Cli.Result r = Cli.etcdRescue("recover", "-i", inventory.toString(), "-w", "json", "--work-dir", work.resolve("auto").toString());
        assertThat(r.exitCode()).as(r.all()).isZero();
        assertThat(r.stderr()).contains("[" + source.name() + "] the agent could not take the snapshot (").contains(WHY)
                .contains("the coordinator takes it instead (--distribution streamed)");
        JsonNode snapshot = new ObjectMapper().readTree(r.stdout()).get("snapshot");
        assertThat(snapshot.get("distribution").asText()).isEqualTo("streamed");
        assertThat(snapshot.get("coordinatorWireBytesRatio").asDouble()).as("taken once, sent to three hosts").isBetween(4.0, 4.1);
        for (TestHost h : testbed.hosts()) {
            assertThat(EtcdData.readAll(URI.create("http://" + h.address() + ":22379"), PREFIX)).as("keys on %s", h.name())
                    .isEqualTo(written);
        }
    }
}
