package dev.etcdrescue.agent.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.spec.MemberPlan;
import dev.etcdrescue.agent.spec.PathRules;
import dev.etcdrescue.agent.spec.TestPlans;
import dev.etcdrescue.proto.v1.RestoreTool;
import io.grpc.Status;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RestoreCommandTest {
    private static final Path ROOT = Path.of("/var/lib/etcd");
    private static final Path SNAPSHOT = Path.of("/var/lib/etcd-rescue-agent/staging/t1.db");
    private static final DetectedTool ETCDCTL_34 = new DetectedTool(RestoreTool.ETCDCTL, Path.of("/usr/bin/etcdctl"),
            "3.4.23", false, false, true, true);
    private static final DetectedTool ETCDUTL_35 = new DetectedTool(RestoreTool.ETCDUTL,
            Path.of("/usr/local/bin/etcdutl"), "3.5.16", true, true, true, true);

    private final MemberPlan seed = MemberPlan.from(TestPlans.seedMember(ROOT).build(), new PathRules(List.of(ROOT)));

    @Test
    void etcdctlGetsTheSeedsArgumentsAndTheV3Api() {
        CommandLine command = RestoreCommand.build(ETCDCTL_34, SNAPSHOT, seed, RestoreOptions.none());

        assertThat(command.argv()).containsExactly(
                "/usr/bin/etcdctl", "snapshot", "restore", SNAPSHOT.toString(),
                "--data-dir=/var/lib/etcd/new.etcd",
                "--name=lv-etcd-research-beta-0",
                "--initial-cluster=lv-etcd-research-beta-0=http://192.168.149.60:22380,"
                        + "lv-etcd-research-beta-1=http://192.168.149.63:22380,"
                        + "lv-etcd-research-beta-2=http://192.168.149.61:22380,"
                        + "lv-etcd-research-beta-3=http://192.168.149.62:22380,"
                        + "lv-etcd-research-beta-4=http://192.168.149.64:22380",
                "--initial-cluster-token=lv-etcd-research-beta-temp",
                "--initial-advertise-peer-urls=http://192.168.149.60:22380");
        assertThat(command.env()).isEqualTo(Map.of("ETCDCTL_API", "3"));
    }

    @Test
    void etcdutlWithEveryOptionalFlag() {
        MemberPlan withWal = MemberPlan.from(TestPlans.seedMember(ROOT).setWalDir("/var/lib/etcd/new.wal").build(),
                new PathRules(List.of(ROOT)));

        CommandLine command = RestoreCommand.build(ETCDUTL_35, SNAPSHOT, withWal, new RestoreOptions(true, 1_000_000, true));

        assertThat(command.argv()).startsWith("/usr/local/bin/etcdutl", "snapshot", "restore", SNAPSHOT.toString())
                .endsWith("--wal-dir=/var/lib/etcd/new.wal", "--skip-hash-check",
                        "--bump-revision=1000000", "--mark-compacted");
        assertThat(command.env()).isEmpty();
    }

    @Test
    void etcdutlWithoutOptionalFlags() {
        CommandLine command = RestoreCommand.build(ETCDUTL_35, SNAPSHOT, seed, RestoreOptions.none());

        assertThat(command.argv()).hasSize(9).noneMatch(a -> a.startsWith("--wal-dir") || a.startsWith("--bump")
                || a.equals("--skip-hash-check") || a.equals("--mark-compacted"));
    }

    @Test
    void bumpOnAToolWithoutTheFlagIsRefusedNamingTheTool() {
        assertThatThrownBy(() -> RestoreCommand.build(ETCDCTL_34, SNAPSHOT, seed, new RestoreOptions(false, 1000, true)))
                .isInstanceOfSatisfying(AgentException.class, e -> {
                    assertThat(e.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getMessage()).contains("etcdctl 3.4.23", "--bump-revision");
                });
    }

    @Test
    void anEtcdctlWithoutSnapshotRestoreIsRefusedBeforeAnyFlagWithTheFix() {
        DetectedTool etcdctl36 = new DetectedTool(RestoreTool.ETCDCTL, Path.of("/usr/bin/etcdctl"), "3.6.5",
                false, false, false, false, false);

        assertThatThrownBy(() -> RestoreCommand.build(etcdctl36, SNAPSHOT, seed, RestoreOptions.none()))
                .isInstanceOfSatisfying(AgentException.class, e -> {
                    assertThat(e.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getMessage()).contains("etcdctl 3.6.5", "no 'snapshot restore'", "install etcdutl 3.6.5",
                            "into /usr/bin");
                });
    }

    @Test
    void markCompactedWithoutBumpIsInvalid() {
        assertThatThrownBy(() -> RestoreCommand.build(ETCDUTL_35, SNAPSHOT, seed, new RestoreOptions(false, 0, true)))
                .isInstanceOfSatisfying(AgentException.class,
                        e -> assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    }
}
