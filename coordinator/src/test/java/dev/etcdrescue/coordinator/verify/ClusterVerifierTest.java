package dev.etcdrescue.coordinator.verify;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.inventory.SnapshotSource;
import dev.etcdrescue.coordinator.report.RecoveryReport.Check;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import dev.etcdrescue.testsupport.LocalEtcd;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The verifier against a real one-member etcd: it passes what is as planned and names what is not. */
@Tag("etcd")
@Timeout(120)
class ClusterVerifierTest {
    @TempDir static Path dir;
    static LocalEtcd etcd;
    static URI peer;

    @BeforeAll
    static void start() throws Exception {
        etcd = LocalEtcd.start(dir, "solo");
        etcd.etcdctl("put", "a", "1");
        String list = etcd.etcdctl("member", "list");
        peer = URI.create(list.split(",")[3].strip());
    }

    @AfterAll
    static void stop() throws Exception {
        if (etcd != null) {
            etcd.close();
        }
    }

    private static ClusterPlan plan(String name, URI client) {
        MemberPlan m = new MemberPlan("host-0", name, "127.0.0.1", "127.0.0.1", 7443, List.of(peer), List.of(client),
                List.of(peer), List.of(client), "/var/lib/etcd/new.etcd", null, "etcd_new", "etcd", null, null);
        return new ClusterPlan("solo", "tok", new SnapshotSource.Endpoints(List.of(client)), Path.of("/pki"), List.of(m));
    }

    @Test
    void clusterAsPlannedPassesEveryCheck() throws Exception {
        ClusterVerifier v = new ClusterVerifier(new EtcdClients(Duration.ofSeconds(2)));
        List<Check> checks = v.verify(plan("solo", etcd.clientUrl()), -1, Optional.of(etcd.clientUrl()), Duration.ofSeconds(20));
        assertThat(checks).extracting(Check::name).contains("every member healthy", "member list matches plan", "no alarm",
                "one leader", "revision equals snapshot", "hashkv equal");
        assertThat(checks).allSatisfy(c -> assertThat(c.ok()).as(c.name() + ": " + c.detail()).isTrue());
    }

    @Test
    void wrongRevisionAndWrongNameFail() throws Exception {
        ClusterVerifier v = new ClusterVerifier(new EtcdClients(Duration.ofSeconds(2)));
        List<Check> checks = v.verify(plan("other-name", etcd.clientUrl()), 1, Optional.empty(), Duration.ofSeconds(20));
        assertThat(checks).filteredOn(c -> !c.ok()).extracting(Check::name)
                .contains("member list matches plan", "revision equals snapshot");
        assertThat(checks).filteredOn(c -> c.name().equals("member list matches plan")).first()
                .satisfies(c -> assertThat(c.detail()).contains("host host-0").contains("no member named other-name"));
    }

    @Test
    void unreachableMemberFailsHealthNamingTheHost() throws Exception {
        ClusterVerifier v = new ClusterVerifier(new EtcdClients(Duration.ofSeconds(1)));
        List<Check> checks = v.verify(plan("solo", URI.create("http://127.0.0.1:1")), -1, Optional.empty(), Duration.ofSeconds(2));
        assertThat(checks).hasSize(1);
        assertThat(checks.get(0).ok()).isFalse();
        assertThat(checks.get(0).detail()).contains("host-0").contains("127.0.0.1:1");
    }

    @Test
    void healthAloneAnswersForARunningMemberAndNamesADeadOne() throws Exception {
        ClusterVerifier v = new ClusterVerifier(new EtcdClients(Duration.ofSeconds(1)));
        Check running = v.health(plan("other-name", etcd.clientUrl()), Duration.ofSeconds(20));
        assertThat(running.ok()).as(running.detail()).isTrue();
        assertThat(running.name()).isEqualTo("every member healthy");
        Check dead = v.health(plan("solo", URI.create("http://127.0.0.1:1")), Duration.ofSeconds(1));
        assertThat(dead.ok()).isFalse();
        assertThat(dead.detail()).contains("host-0").contains("127.0.0.1:1");
    }
}
