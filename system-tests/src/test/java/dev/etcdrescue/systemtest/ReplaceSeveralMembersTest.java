package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.cluster.Member;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Two of five members lost for good (etcd gone, its data wiped): quorum holds (3 of 5), doctor names both, and one
 * replace-member run replaces them one at a time, each a run of its own that starts once the one before is verified.
 * What etcd reports afterwards: five voting members under the same names, two of them new, no learner, every key.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class ReplaceSeveralMembersTest {
    private static final String DATA = "/var/lib/etcd/default";
    private Testbed testbed;
    private Path work;
    private Path inventory;
    private Map<String, String> written;

    @BeforeAll
    void fiveMembersServing() throws Exception {
        testbed = Testbed.create(5, Testbed.Options.defaults().withHostPrefix("sev"));
        work = Files.createTempDirectory("etcd-rescue-several-");
        Path pki = work.resolve("pki");
        testbed.installAgents(pki);
        testbed.startOldCluster("old-sev");
        written = EtcdData.load(ReplaceMemberTest.url(testbed.host(0)), "/sev/", 300, 13);
        String yaml = Inventories.runningCluster("sev", testbed.hosts(), pki, DATA);
        inventory = Inventories.write(work, "inventory.yaml", yaml);
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    @Test
    void twoOfFiveLostAreReplacedOneAtATimeInOneRun() throws Exception {
        List<TestHost> lost = List.of(testbed.host(3), testbed.host(4));
        List<TestHost> alive = testbed.hosts().subList(0, 3);
        Map<String, Long> before = ids(alive.get(0));
        for (TestHost h : lost) {
            testbed.killEtcdPermanently(h);
            wipe(h);
        }
        Set<Long> lostIds = lost.stream().map(h -> before.get(h.name())).collect(Collectors.toSet());
        // A survivor that does not answer one status call under load (-1) is left out; those that answer agree on a new leader.
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).until(() -> {
            Set<Long> named = new java.util.HashSet<>(ReplaceMemberTest.leaders(alive));
            named.remove(-1L);
            return named.size() == 1 && named.stream().noneMatch(id -> id == 0 || lostIds.contains(id));
        });

        Cli.Result doctor = Cli.etcdRescue("doctor", "-i", inventory.toString());
        assertThat(doctor.exitCode()).as(doctor.all()).isEqualTo(10);
        assertThat(doctor.stdout()).contains("2 members down: replaced one at a time, in this order");
        // The command doctor prints, as the operator would type it: both members, in doctor's order.
        String line = doctor.stdout().lines().map(String::strip).filter(l -> l.startsWith("etcd-rescue replace-member ")).findFirst()
                .orElseThrow();
        List<String> args = new java.util.ArrayList<>(List.of(line.substring("etcd-rescue ".length()).split(" ")));
        List<String> order = new java.util.ArrayList<>();
        for (int i = 0; i < args.size() - 1; i++) {
            if (args.get(i).equals("--member")) {
                order.add(args.get(i + 1));
            }
        }
        assertThat(order).containsExactlyInAnyOrderElementsOf(lost.stream().map(TestHost::name).toList());
        lost = order.stream().map(testbed::host).toList();
        args.addAll(List.of("--work-dir", work.resolve("runs").toString()));

        Cli.Result r = Cli.etcdRescue(args.toArray(String[]::new));

        assertThat(r.exitCode()).as(r.all()).isZero();
        assertThat(r.stdout()).contains("REPLACE [member] 1 of 2: " + lost.get(0).name(), "REPLACE [member] 2 of 2: " + lost.get(1).name());
        assertThat(r.stdout()).contains("REPLACE [done] member " + lost.get(0).name(), "REPLACE [done] member " + lost.get(1).name());
        assertThat(r.stdout().indexOf("REPLACE [member] 2 of 2")).as("the second starts once the first is verified and done")
                .isGreaterThan(r.stdout().indexOf("REPLACE [done] member " + lost.get(0).name()));
        try (Stream<Path> runs = Files.list(work.resolve("runs"))) {
            assertThat(runs.filter(Files::isDirectory)).as("a run dir each").hasSize(2);
        }
        Map<String, Long> after = ids(alive.get(0));
        assertThat(after.keySet()).containsExactlyInAnyOrderElementsOf(testbed.hosts().stream().map(TestHost::name).toList());
        for (TestHost h : testbed.hosts()) {
            boolean replaced = lost.contains(h);
            assertThat(after.get(h.name()).equals(before.get(h.name()))).as("%s keeps its member id: %s", h.name(), !replaced)
                    .isEqualTo(!replaced);
        }
        try (Client c = EtcdData.client(ReplaceMemberTest.url(alive.get(0)))) {
            assertThat(c.getClusterClient().listMember().get(10, TimeUnit.SECONDS).getMembers()).noneMatch(Member::isLearner);
        }
        for (TestHost h : lost) {
            assertThat(EtcdData.readAll(ReplaceMemberTest.url(h), "/sev/")).as("every key, read from the new member on %s", h.name())
                    .isEqualTo(written);
        }
        Cli.Result healthy = Cli.etcdRescue("doctor", "-i", inventory.toString());
        assertThat(healthy.exitCode()).as(healthy.all()).isZero();
    }

    private static Map<String, Long> ids(TestHost from) throws Exception {
        return ReplaceMemberTest.members(from).stream().collect(Collectors.toMap(Member::getName, Member::getId));
    }

    private static void wipe(TestHost host) throws Exception {
        Path snap = host.hostPath(DATA + "/member/snap");
        try (Stream<Path> files = Files.walk(snap)) {
            for (Path p : files.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.delete(p);
            }
        }
    }
}
