package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.proto.v1.RestoreResult;
import dev.etcdrescue.systemtest.testbed.EtcdVersion;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * {@code plan} says what {@code recover} does (issue 18): {@code plan -o json}, then {@code recover -o json}
 * on the same three hosts, and host by host what plan said against what the host's agent did, read from
 * the host: the restore argv (the agent's journal keeps the RestoreResult), the env file and unit it wrote,
 * and the units it started, stopped, enabled and disabled (journalled before each step).
 *
 * <p>The hosts' restore tools differ: on the first host etcdutl's help lists no --bump-revision (a wrapper
 * bound over it, as an older tool would), so the cluster gets no bump, and no host's restore may carry one.
 * {@code --fence always}, so release's restart is among the actions compared.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class PlanMatchesRecoverTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int FENCE_PORT = 32379;
    private static final int CLIENT_PORT = 22379;
    /** etcdutl as an older one looks to the agent: the same binary, its restore help without the bump flags. */
    private static final String WITHOUT_BUMP = String.join("\n",
            "#!/bin/sh",
            "for a in \"$@\"; do",
            "  if [ \"$a\" = --help ]; then /opt/restore-tool/etcdutl-real \"$@\" | grep -v -e --bump-revision -e --mark-compacted; exit 0; fi",
            "done",
            "exec /opt/restore-tool/etcdutl-real \"$@\"",
            "");

    private Testbed testbed;
    private Path work;
    private Path inventory;

    @BeforeAll
    void threeHostsOneWithoutBumpLoseTwoMembers() throws Exception {
        testbed = Testbed.create(3, Testbed.Options.defaults().withEtcd(EtcdVersion.V3_5_16).withHostPrefix("parity"));
        work = Files.createTempDirectory("etcd-rescue-parity-");
        Path pki = work.resolve("pki");
        TestHost older = testbed.host(0);
        older.writeFile("/opt/restore-tool/etcdutl", WITHOUT_BUMP);
        older.execOk(Duration.ofSeconds(30), "sh", "-c", "set -eu; cp /usr/local/bin/etcdutl /opt/restore-tool/etcdutl-real;"
                + " chmod 755 /opt/restore-tool/etcdutl /opt/restore-tool/etcdutl-real;"
                + " mount --bind /opt/restore-tool/etcdutl /usr/local/bin/etcdutl");
        testbed.installAgents(pki);
        testbed.startOldCluster("old-parity");
        EtcdData.load(URI.create(Testbed.oldClientUrl(testbed.host(0))), "/registry/parity/", 100, 5);
        testbed.killEtcdPermanently(testbed.host(0));
        testbed.killEtcdPermanently(testbed.host(1));
        inventory = Inventories.write(work, "inventory.yaml", Inventories.seedLike("parity", testbed.hosts(), pki,
                Inventories.fromEndpoints(testbed.hosts())));
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    @Test
    void recoverDoesOnEveryHostWhatPlanSaid() throws Exception {
        Cli.Result plan = Cli.etcdRescue("plan", "-i", inventory.toString(), "--fence", "always", "-o", "json");
        assertThat(plan.exitCode()).as(plan.all()).isZero();
        JsonNode cluster = JSON.readTree(plan.stdout()).get(0);
        assertThat(cluster.get("bumpRevision").asLong()).as(cluster.get("bump").asText()).isZero();
        assertThat(cluster.get("bump").asText()).contains("not possible").contains(testbed.host(0).name());
        Map<String, JsonNode> planned = new LinkedHashMap<>();
        cluster.get("hosts").forEach(h -> planned.put(h.get("host").asText(), h));
        assertThat(planned).hasSize(3);

        Cli.Result recover = Cli.etcdRescue("recover", "-i", inventory.toString(), "--fence", "always", "-o", "json",
                "--work-dir", work.resolve("runs").toString());
        assertThat(recover.exitCode()).as(recover.all()).isZero();
        JsonNode report = JSON.readTree(recover.stdout());
        assertThat(recover.stderr()).contains("revision bump: not possible");
        String operation = report.get("operationId").asText();

        SoftAssertions soft = new SoftAssertions();
        for (TestHost h : testbed.hosts()) {
            JsonNode p = planned.get(h.name());
            List<JsonNode> journal = journal(h, operation);

            List<String> planArgv = strings(p.get("restoreCommand"));
            List<String> ran = journal.stream().filter(e -> e.get("kind").asText().equals("RESTORE_COMPLETED"))
                    .map(e -> restoreArgv(e.get("result").asText())).findFirst().orElse(List.of());
            soft.assertThat(planArgv).as("%s: plan's restore", h.name()).noneMatch(a -> a.startsWith("--bump-revision"))
                    .noneMatch(a -> a.startsWith("--mark-compacted"));
            soft.assertThat(withoutSnapshot(ran, planArgv)).as("%s: the restore the agent ran, but for the staged file", h.name())
                    .isEqualTo(withoutSnapshot(planArgv, planArgv));

            // Release rewrote the env file to the planned client URL, as plan's release action says; the rest is as
            // rendered, but for the operation id in the header comment (plan's is its own, made up for the dry run).
            String env = p.get("envFileContent").asText().replace(":" + FENCE_PORT, ":" + CLIENT_PORT);
            soft.assertThat(anyOperation(h.readFile(p.get("envFile").asText()))).as("%s: %s", h.name(), p.get("envFile").asText())
                    .isEqualTo(anyOperation(env));
            soft.assertThat(anyOperation(h.readFile(p.get("unitFile").asText()))).as("%s: %s", h.name(), p.get("unitFile").asText())
                    .isEqualTo(anyOperation(p.get("unitFileContent").asText()));

            List<String> did = journal.stream().filter(e -> e.get("kind").asText().matches("UNIT_(STARTED|STOPPED|ENABLED|DISABLED)"))
                    .map(e -> e.get("kind").asText().substring("UNIT_".length()) + " " + e.get("unit").asText().replaceFirst("\\.service$", ""))
                    .toList();
            List<String> always = new ArrayList<>();
            List<String> mayBe = new ArrayList<>();
            for (JsonNode a : p.get("unitActions")) {
                String verb = a.get("verb").asText();
                if (verb.equals("DAEMON_RELOAD")) {
                    continue;
                }
                String step = switch (verb) {
                    case "START_AND_WAIT" -> "STARTED";
                    case "STOP" -> "STOPPED";
                    case "ENABLE" -> "ENABLED";
                    case "DISABLE" -> "DISABLED";
                    default -> throw new AssertionError("unknown verb " + verb);
                } + " " + a.get("unit").asText();
                mayBe.add(step);
                // Cut-over changes a unit only where it is not as wanted yet ("if active", "unless enabled").
                if (!a.get("phase").asText().equals("CUT_OVER")) {
                    always.add(step);
                }
            }
            soft.assertThat(did).as("%s: units the agent changed, against plan's %s", h.name(), strings(p.get("systemctl")))
                    .isSubsetOf(mayBe).containsSubsequence(always);
            soft.assertThat(mayBe).as("%s: plan's actions in order", h.name()).containsSubsequence(did);
            System.out.printf("%s: restore %s; units %s%n", h.name(), String.join(" ", ran), did);
        }
        soft.assertThat(messages(report, "START")).as("start's report").hasSize(3)
                .allSatisfy(m -> assertThat(m).startsWith("systemctl daemon-reload; systemctl start etcd_new, waiting for its start job"));
        soft.assertThat(messages(report, "RESTORE")).as("restore's report").hasSize(3)
                .allSatisfy(m -> assertThat(m).doesNotContain("revisions bumped"));
        soft.assertAll();
    }

    private static String anyOperation(String generated) {
        return generated.replaceAll("(?m)^(# Generated by etcd-rescue for operation )\\S+", "$1<id>");
    }

    /** The agent's journal of the operation, one JSON object a line. */
    private static List<JsonNode> journal(TestHost h, String operation) throws Exception {
        List<JsonNode> entries = new ArrayList<>();
        for (String line : h.readFile("/var/lib/etcd-rescue-agent/journal/" + operation + ".jsonl").split("\n")) {
            if (!line.isBlank()) {
                entries.add(JSON.readTree(line));
            }
        }
        return entries;
    }

    private static List<String> restoreArgv(String base64) {
        try {
            return RestoreResult.parseFrom(Base64.getDecoder().decode(base64)).getCommandList();
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError("the journal's RestoreResult does not parse", e);
        }
    }

    /** {@code argv} with the snapshot's path (where plan shows {@code <snapshot>}) left out. */
    private static List<String> withoutSnapshot(List<String> argv, List<String> planArgv) {
        int at = planArgv.indexOf("<snapshot>");
        List<String> rest = new ArrayList<>(argv);
        if (at >= 0 && at < rest.size()) {
            rest.remove(at);
        }
        return rest;
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static List<String> messages(JsonNode report, String phase) {
        List<String> out = new ArrayList<>();
        report.get("results").forEach(n -> {
            if (n.get("phase").asText().equals(phase) && !n.get("host").asText().equals("-")) {
                out.add(n.get("message").asText());
            }
        });
        return out;
    }
}
