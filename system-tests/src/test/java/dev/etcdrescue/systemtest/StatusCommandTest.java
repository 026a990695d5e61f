package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/** {@code etcd-rescue status} against the agents of two testbed hosts, then with one agent stopped. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class StatusCommandTest {
    private Testbed testbed;
    private Path inventory;

    @BeforeAll
    void twoHostsWithAgents() throws Exception {
        testbed = Testbed.create(2, Testbed.Options.defaults().withHostPrefix("stat"));
        Path work = Files.createTempDirectory("etcd-rescue-status-");
        Path pki = work.resolve("pki");
        testbed.installAgents(pki);
        // status reads only the hosts; the inventory still names a source, as every inventory must.
        inventory = Inventories.write(work, "inventory.yaml",
                Inventories.seedLike("delta", testbed.hosts(), pki, Inventories.fromFile(work.resolve("backup.db"))));
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    @Test
    @Order(1)
    void listsEveryAgentWithItsVersionsAndTools() throws Exception {
        Cli.Result table = Cli.etcdRescue("status", "-i", inventory.toString());
        assertThat(table.exitCode()).as(table.all()).isZero();
        assertThat(table.stdout()).contains("| CLUSTER |").contains("REACHABLE").contains("ETCD VERSION").contains("RESTORE TOOL");
        for (TestHost h : testbed.hosts()) {
            assertThat(table.stdout()).containsPattern("\\| delta +\\| " + h.name() + " +\\| " + h.address() + ":7443 +\\| yes +\\|");
        }

        Cli.Result json = Cli.etcdRescue("status", "-i", inventory.toString(), "-w", "json");
        assertThat(json.exitCode()).as(json.all()).isZero();
        JsonNode doc = new ObjectMapper().readTree(json.stdout());
        assertThat(doc.get("allReachable").asBoolean()).isTrue();
        assertThat(doc.get("hosts")).hasSize(2).allSatisfy(row -> {
            assertThat(row.get("reachable").asBoolean()).isTrue();
            assertThat(row.get("hostName").asText()).isEqualTo(row.get("host").asText());
            assertThat(row.get("agentVersion").asText()).isNotBlank();
            assertThat(row.get("etcdVersion").asText()).isEqualTo("3.4.23");
            assertThat(row.get("restoreTool").get("kind").asText()).isEqualTo("etcdctl");
            assertThat(row.get("restoreTool").get("version").asText()).contains("3.4.23");
            assertThat(row.get("phase").asText()).isEqualTo("IDLE");
            assertThat(row.get("claim").isNull()).isTrue();
        });
    }

    @Test
    @Order(2)
    void aStoppedAgentIsARowWithTheReasonAndExitOne() throws Exception {
        TestHost stopped = testbed.host(1);
        stopped.systemctl("stop", "etcd-rescue-agent").requireOk();

        Cli.Result table = Cli.etcdRescue("status", "-i", inventory.toString());
        assertThat(table.exitCode()).as(table.all()).isEqualTo(1);
        assertThat(table.stdout()).containsPattern("\\| " + testbed.host(0).name() + " +\\| [^|]+\\| yes +\\|")
                .containsPattern("\\| " + stopped.name() + " +\\| [^|]+\\| no +\\|.*unreachable \\(Connection refused\\)");
        assertThat(table.stderr()).doesNotContain("Exception");

        Cli.Result json = Cli.etcdRescue("status", "-i", inventory.toString(), "-w", "json");
        assertThat(json.exitCode()).isEqualTo(1);
        JsonNode doc = new ObjectMapper().readTree(json.stdout());
        assertThat(doc.get("allReachable").asBoolean()).isFalse();
        JsonNode row = doc.get("hosts").get(1);
        assertThat(row.get("host").asText()).isEqualTo(stopped.name());
        assertThat(row.get("reachable").asBoolean()).isFalse();
        assertThat(row.get("error").asText()).contains("unreachable (Connection refused)", "is etcd-rescue-agent running there");
        assertThat(doc.get("hosts").get(0).get("reachable").asBoolean()).isTrue();
    }
}
