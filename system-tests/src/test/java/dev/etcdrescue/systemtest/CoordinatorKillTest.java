package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The coordinator SIGKILLed inside each phase of one recovery, one phase after the other: the first
 * run is killed in preflight, each {@code etcd-rescue resume RUN_DIR} after it is killed in the next
 * phase, and a last resume must finish with a verified cluster. One recovery, nine kills: cheap enough
 * for CI, and each kill starts from the state the previous one left, as a careless operator would.
 * The kill comes when the coordinator's journal (fsynced before a phase acts) says the phase started,
 * and the journal afterwards proves it was inside it: every earlier phase done, this one not.
 * Failpoints on one agent make the short phases long enough to be inside (restore, configure, cut-over
 * pause there once). Three hosts, 100 keys, the survivor as the source: its agent takes the snapshot and
 * sends it to the other two (the default), so the kills in snapshot and distribute land in TakeSnapshot and
 * SendSnapshot rounds.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class CoordinatorKillTest {
    /** Every phase in journal order; STOP_OLD does nothing side by side, so no kill can land inside it. */
    private static final List<String> PHASES = List.of("PREFLIGHT", "SNAPSHOT", "DISTRIBUTE", "RESTORE", "CONFIGURE", "STOP_OLD",
            "START", "VERIFY", "RELEASE", "CUT_OVER");
    /** The kill comes within milliseconds of the phase's start: two seconds inside a step are plenty. */
    private static final String HOLDS = "restore.beforeTool=1*sleep(2s);configure.afterEnvFile=1*sleep(2s);"
            + "cutover.afterEnableNew=1*sleep(2s)";
    private static final Duration SHORT = Duration.ofSeconds(30);
    private static final ObjectMapper JSON = new ObjectMapper();
    private Testbed testbed;
    private Path work;
    private Path runs;
    private Path inventory;
    private Path run;
    private Map<String, String> written;
    private final Map<String, String> restoredInodes = new LinkedHashMap<>();

    @BeforeAll
    void threeHostsLoseTwoMembers() throws Exception {
        testbed = Testbed.create(3, Testbed.Options.defaults().withHostPrefix("ckill"));
        work = Files.createTempDirectory("etcd-rescue-ckill-");
        Path pki = work.resolve("pki");
        // Written before the install: the agent's first start arms the holds, no restart needed.
        AgentFailpoints.writeDropIn(testbed.host(1), HOLDS);
        testbed.installAgents(pki);
        testbed.startOldCluster("old-ckill");
        written = new TreeMap<>(EtcdData.load(URI.create(Testbed.oldClientUrl(testbed.host(2))), "/ckill/", 100, 17, 1024));
        testbed.killEtcdPermanently(testbed.host(0));
        testbed.killEtcdPermanently(testbed.host(1));
        inventory = Inventories.write(work, "ckill.yaml", Inventories.seedLike("ckill", testbed.hosts(), pki,
                Inventories.fromEndpoints(testbed.hosts())));
        runs = work.resolve("runs");
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    @ParameterizedTest(name = "coordinator SIGKILLed in {0}")
    @ValueSource(strings = {"PREFLIGHT", "SNAPSHOT", "DISTRIBUTE", "RESTORE", "CONFIGURE", "START", "VERIFY", "RELEASE", "CUT_OVER"})
    @Order(1)
    void theCoordinatorKilledInsideAPhaseLeavesNothingHalfDoneAndTheNextResumeGoesOn(String phase) throws Exception {
        long t0 = System.nanoTime();
        String[] args = run == null
                ? new String[] {"recover", "-i", inventory.toString(), "--work-dir", runs.toString(), "--chunk-size", "1024",
                        "--fence", "always"}
                : new String[] {"resume", run.toString()};
        String output = killWhenJournalStarts(phase, args);
        long killedAfter = (System.nanoTime() - t0) / 1_000_000;

        List<JsonNode> journal = readJournal(run.resolve("journal.jsonl"));
        Set<String> done = new LinkedHashSet<>();
        String lastStarted = null;
        for (JsonNode line : journal) {
            switch (line.path("type").asText()) {
                case "phase-done" -> done.add(line.path("phase").asText());
                case "phase-started" -> lastStarted = line.path("phase").asText();
                default -> { }
            }
        }
        int index = PHASES.indexOf(phase);
        System.out.printf("coordinator SIGKILLed in %s %d ms after it was started; phases done: %s%n", phase, killedAfter, done);
        assertThat(done).as("the kill came inside %s, not after it:%n%s", phase, output)
                .containsExactlyElementsOf(PHASES.subList(0, index));
        assertThat(lastStarted).isEqualTo(phase);
        if (index >= 2) {
            assertThat(output).as("preflight was done by an earlier attempt").contains("preflight: done in an earlier attempt");
        }

        for (TestHost h : testbed.hosts()) {
            assertNoTemporaryFiles(h);
            assertOldOrNewNeverHalf(h);
        }
        assertThat(testbed.host(2).hostPath("/var/lib/etcd/default/member/snap/db")).as("the survivor's data").exists();
        if (phase.equals("CONFIGURE")) {
            for (TestHost h : testbed.hosts()) {
                restoredInodes.put(h.name(), h.execOk(SHORT, "stat", "-c", "%i", "/var/lib/etcd/new.etcd").stdout().strip());
            }
        }
    }

    @Test
    @Order(2)
    void theLastResumeFinishesTheRecoveryWithExactlyOneMemberUnitPerHost() throws Exception {
        long t0 = System.nanoTime();
        Cli.Result r = Cli.etcdRescue("resume", run.toString());
        System.out.printf("last resume: exit %d after %d ms%n", r.exitCode(), (System.nanoTime() - t0) / 1_000_000);
        assertThat(r.exitCode()).as(r.all()).isZero();
        assertThat(r.stdout()).contains("release: done in an earlier attempt");
        assertThat(EtcdData.readAll(URI.create("http://" + testbed.host(0).address() + ":22379"), "/ckill/")).isEqualTo(written);
        for (TestHost h : testbed.hosts()) {
            assertThat(h.unitState("etcd_new")).as("etcd_new on %s", h.name()).isEqualTo("active");
            assertThat(h.systemctl("is-enabled", "etcd_new").stdout().strip()).as("etcd_new on %s", h.name()).isEqualTo("enabled");
            assertThat(h.unitState("etcd")).as("old etcd on %s", h.name()).isNotIn("active", "activating");
            assertThat(h.systemctl("is-enabled", "etcd").stdout().strip()).as("old etcd on %s", h.name()).isNotEqualTo("enabled");
            assertThat(h.execOk(SHORT, "stat", "-c", "%i", "/var/lib/etcd/new.etcd").stdout().strip())
                    .as("data dir on %s restored once, never again by a resume", h.name()).isEqualTo(restoredInodes.get(h.name()));
            assertThat(h.hostPath("/var/lib/etcd/default/member")).as("old data on %s", h.name()).exists();
            assertNoTemporaryFiles(h);
        }
    }

    /**
     * Starts etcd-rescue and SIGKILLs it as soon as its journal records that {@code phase} started;
     * returns its output until then. Polls every 5 ms: the shortest phase seen here lasts over 100 ms.
     */
    private String killWhenJournalStarts(String phase, String... args) throws Exception {
        List<String> argv = new ArrayList<>();
        argv.add(Cli.projectRoot().resolve("deploy/bin/etcd-rescue").toString());
        argv.addAll(List.of(args));
        // To a file, not a pipe: killing a Process closes its pipes, and output still unread would be lost.
        Path log = Files.createTempFile(work, "etcd-rescue-", ".out");
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        try {
            while (true) {
                Optional<Path> journal = currentJournal();
                if (journal.isPresent() && started(journal.get(), phase)) {
                    p.destroyForcibly();
                    break;
                }
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    String why = p.isAlive() ? " in 5 minutes" : " (exit " + p.exitValue() + ")";
                    p.destroyForcibly();
                    p.waitFor(30, TimeUnit.SECONDS);
                    throw new AssertionError("etcd-rescue " + String.join(" ", args) + " never started phase " + phase + why
                            + ":\n" + Files.readString(log));
                }
                Thread.sleep(5);
            }
        } finally {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
        String seen = Files.readString(log);
        System.out.println("$ etcd-rescue " + String.join(" ", args) + "  -> SIGKILL in " + phase + "\n" + seen);
        return seen;
    }

    private Optional<Path> currentJournal() throws IOException {
        if (run == null) {
            if (!Files.isDirectory(runs)) {
                return Optional.empty();
            }
            try (Stream<Path> dirs = Files.list(runs)) {
                run = dirs.findFirst().orElse(null);
            }
            if (run == null) {
                return Optional.empty();
            }
        }
        return Optional.of(run.resolve("journal.jsonl"));
    }

    private static boolean started(Path journal, String phase) throws IOException {
        return Files.exists(journal) && readJournal(journal).stream()
                .anyMatch(l -> "phase-started".equals(l.path("type").asText()) && phase.equals(l.path("phase").asText()));
    }

    /** The journal's complete lines; a torn last line (the coordinator killed mid-write) is what resume ignores too. */
    private static List<JsonNode> readJournal(Path journal) throws IOException {
        List<JsonNode> lines = new ArrayList<>();
        for (String raw : Files.readAllLines(journal, StandardCharsets.UTF_8)) {
            try {
                lines.add(JSON.readTree(raw));
            } catch (IOException torn) {
                break;
            }
        }
        return lines;
    }

    private static void assertNoTemporaryFiles(TestHost h) throws IOException {
        for (String dir : List.of("/etc/default", "/etc/systemd/system", "/var/lib/etcd")) {
            try (Stream<Path> files = Files.list(h.hostPath(dir))) {
                assertThat(files.map(p -> p.getFileName().toString())).as("temp or partial files in %s on %s", dir, h.name())
                        .noneMatch(n -> n.contains(".tmp-") || n.endsWith(".part") || n.endsWith(".partial") || n.endsWith(".failed"));
            }
        }
    }

    /** The new member's env file and unit are absent or whole (written to a temp name and renamed), never half. */
    private static void assertOldOrNewNeverHalf(TestHost h) throws IOException {
        Path env = h.hostPath("/etc/default/etcd_new");
        if (Files.exists(env)) {
            assertThat(Files.readString(env)).as("env file on %s", h.name()).contains("ETCD_NAME=").contains("ETCD_INITIAL_CLUSTER=")
                    .endsWith("\n");
        }
        Path unit = h.hostPath("/etc/systemd/system/etcd_new.service");
        if (Files.exists(unit)) {
            assertThat(Files.readString(unit)).as("unit on %s", h.name()).contains("[Service]").contains("EnvironmentFile=")
                    .contains("[Install]");
        }
        assertThat(h.hostPath("/etc/default/etcd")).as("old env file on %s", h.name()).exists();
    }
}
