package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.InventoryLoader;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The fence goes up exactly where clients of the old cluster could reach the new members. */
@Timeout(30)
class FenceTest {
    @TempDir Path dir;

    private ClusterPlan plan(String clientPort) throws Exception {
        String yaml = """
                all:
                  children:
                    beta:
                      vars: {cluster_token: beta-restored, snapshot_file: /backups/beta.db%s}
                      hosts:
                        beta-0: {address: 10.0.0.1}
                        beta-1: {address: 10.0.0.2}
                        beta-2: {address: 10.0.0.3}
                """.formatted(clientPort.isEmpty() ? "" : ", client_port: " + clientPort);
        return InventoryLoader.load(Files.writeString(dir.resolve("inventory.yaml"), yaml)).clusters().get(0);
    }

    private static RecoveryOptions options(RecoveryOptions.FenceMode mode, int port) {
        RecoveryOptions d = RecoveryOptions.defaults(Path.of("."));
        return new RecoveryOptions(d.workDir(), false, false, false, 0, port, false, 1 << 20, d.claimTtl(), d.startTimeout(),
                d.verifyTimeout(), false, d.distribution(), mode, false);
    }

    private static final Map<String, String> OLD_ON_2379 = Map.of(
            "ETCD_LISTEN_CLIENT_URLS", "http://10.0.0.1:2379,http://127.0.0.1:2379",
            "ETCD_ADVERTISE_CLIENT_URLS", "http://10.0.0.1:2379");

    @Test
    void newClientPortsAsInTheSeedNeedNoFence() throws Exception {
        Fence.Decision d = Fence.decide(plan(""), options(RecoveryOptions.FenceMode.AUTO, 32379), List.of(OLD_ON_2379, Map.of()), List.of());
        assertThat(d.fenced()).as(d.why()).isFalse();
        assertThat(d.why()).contains("[22379]").contains("[2379]");
    }

    @Test
    void aRestoreInPlaceOnTheOldClientPortIsFenced() throws Exception {
        Fence.Decision d = Fence.decide(plan("2379"), options(RecoveryOptions.FenceMode.AUTO, 32379), List.of(OLD_ON_2379), List.of());
        assertThat(d.fenced()).as(d.why()).isTrue();
        assertThat(d.port()).as("the port members serve on until release").isEqualTo(32379);
        assertThat(d.why()).contains("port 32379").contains("[2379] was the old cluster's");
    }

    @Test
    void theSnapshotEndpointsNameOldPortsToo() throws Exception {
        Fence.Decision d = Fence.decide(plan("4001"), options(RecoveryOptions.FenceMode.AUTO, 32379), List.of(Map.of()),
                List.of(URI.create("https://10.0.0.1:4001")));
        assertThat(d.fenced()).as(d.why()).isTrue();
    }

    @Test
    void unknownOldPortsAreFenced() throws Exception {
        Fence.Decision d = Fence.decide(plan(""), options(RecoveryOptions.FenceMode.AUTO, 32379), List.of(Map.of(), Map.of()), List.of());
        assertThat(d.fenced()).as(d.why()).isTrue();
        assertThat(d.why()).contains("not known");
        Map<String, String> garbled = Map.of("ETCD_LISTEN_CLIENT_URLS", "http://[bad");
        assertThat(Fence.decide(plan(""), options(RecoveryOptions.FenceMode.AUTO, 32379), List.of(garbled), List.of()).fenced()).isTrue();
    }

    @Test
    void alwaysFencesAndPortZeroNever() throws Exception {
        assertThat(Fence.decide(plan(""), options(RecoveryOptions.FenceMode.ALWAYS, 32379), List.of(OLD_ON_2379), List.of()).fenced())
                .isTrue();
        Fence.Decision none = Fence.decide(plan("2379"), options(RecoveryOptions.FenceMode.ALWAYS, 0), List.of(OLD_ON_2379), List.of());
        assertThat(none.fenced()).isFalse();
        assertThat(none.port()).isZero();
        assertThat(none.why()).contains("--fence-port 0");
    }
}
