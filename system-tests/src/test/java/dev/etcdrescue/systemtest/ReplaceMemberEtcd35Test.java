package dev.etcdrescue.systemtest;

import static dev.etcdrescue.systemtest.ReplaceMemberTest.leaders;
import static dev.etcdrescue.systemtest.ReplaceMemberTest.members;
import static dev.etcdrescue.systemtest.ReplaceMemberTest.url;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.etcdrescue.systemtest.testbed.EtcdVersion;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.cluster.Member;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * replace-member on etcd 3.5.16 (etcdutl present, learner promotion through the 3.5 code path): one member of
 * three lost for good and replaced on its own host while a writer runs; etcd's own answers checked.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class ReplaceMemberEtcd35Test {
    private static final String DATA = "/var/lib/etcd/default";
    private Testbed testbed;
    private Path inventory;
    private Path work;
    private Map<String, String> written;

    @BeforeAll
    void threeMembersServing() throws Exception {
        testbed = Testbed.create(3, Testbed.Options.defaults().withEtcd(EtcdVersion.V3_5_16).withHostPrefix("rp35"));
        work = Files.createTempDirectory("etcd-rescue-replace35-");
        Path pki = work.resolve("pki");
        testbed.installAgents(pki);
        testbed.startOldCluster("old-rp35", testbed.hosts());
        written = EtcdData.load(url(testbed.host(0)), "/rp35/", 300, 17);
        String yaml = Inventories.runningCluster("rp35", testbed.hosts(), pki, DATA);
        inventory = Inventories.write(work, "inventory.yaml", yaml);
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    @Test
    void aLostMemberIsReplacedOnItsOwnHostWithAWriterRunning() throws Exception {
        TestHost lost = testbed.host(2);
        List<TestHost> others = List.of(testbed.host(0), testbed.host(1));
        long lostId = members(testbed.host(0)).stream().filter(m -> m.getName().equals(lost.name())).findFirst().orElseThrow().getId();
        testbed.killEtcdPermanently(lost);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> {
            Set<Long> named = leaders(others);
            return named.size() == 1 && !named.contains(0L) && !named.contains(-1L) && !named.contains(lostId);
        });

        Cli.Result r;
        ReplaceMemberTest.Writer writer = ReplaceMemberTest.Writer.start(List.of(url(testbed.host(0)), url(testbed.host(1))));
        try {
            r = Cli.etcdRescue("replace-member", "-i", inventory.toString(), "--member", lost.name(), "--work-dir",
                    work.resolve("runs").toString());
        } finally {
            writer.stop();
        }
        System.out.println("writer during replace-member on 3.5.16: " + writer.ok.get() + " writes ok, " + writer.failed.get()
                + " failed " + writer.errors);
        assertThat(r.exitCode()).as(r.all()).isZero();
        assertThat(r.stdout()).contains("REPLACE [remove] member remove", "REPLACE [add] member add --learner", "REPLACE [promote]",
                "REPLACE [verify] ok   hashkv equal", "REPLACE [done] member " + lost.name());
        assertThat(writer.ok.get()).as("writes during the replacement").isGreaterThan(10);
        assertThat(writer.failed.get()).as("only election blips may fail: " + writer.errors).isLessThanOrEqualTo(3);

        List<Member> list = members(testbed.host(0));
        assertThat(list).hasSize(3).noneMatch(Member::isLearner);
        assertThat(list).extracting(Member::getName).containsExactlyInAnyOrderElementsOf(testbed.hosts().stream().map(TestHost::name).toList());
        assertThat(list).noneMatch(m -> m.getId() == lostId);
        Set<String> versions = new HashSet<>();
        Set<Integer> hashes = new HashSet<>();
        long revision = Long.MAX_VALUE;
        for (TestHost h : testbed.hosts()) {
            try (Client c = EtcdData.client(url(h))) {
                var status = c.getMaintenanceClient().statusMember(url(h).toString()).get(10, TimeUnit.SECONDS);
                versions.add(status.getVersion());
                revision = Math.min(revision, status.getHeader().getRevision());
            }
        }
        for (TestHost h : testbed.hosts()) {
            try (Client c = EtcdData.client(url(h))) {
                hashes.add(c.getMaintenanceClient().hashKV(url(h).toString(), revision).get(30, TimeUnit.SECONDS).getHash());
            }
        }
        assertThat(versions).containsExactly("3.5.16");
        assertThat(hashes).as("hashkv of every member at revision " + revision).hasSize(1);
        assertThat(RunningEtcd.of(lost, "etcd_new").environ()).containsEntry("ETCD_INITIAL_CLUSTER_STATE", "existing");
        assertThat(EtcdData.readAll(url(lost), "/rp35/", true)).isEqualTo(written);
    }
}
