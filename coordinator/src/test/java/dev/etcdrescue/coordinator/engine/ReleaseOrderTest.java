package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.InventoryLoader;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Release batches: never more members down at once than the quorum allows, the leader in the last batch. */
@Timeout(30)
class ReleaseOrderTest {
    @TempDir Path dir;

    private List<MemberPlan> members(int n) throws Exception {
        StringBuilder yaml = new StringBuilder("""
                all:
                  children:
                    beta:
                      vars: {cluster_token: beta-restored, snapshot_endpoints: [http://10.0.0.1:2379]}
                      hosts:
                """);
        IntStream.range(0, n).forEach(i -> yaml.append("        beta-").append(i).append(": {address: 10.0.0.").append(i + 1).append("}\n"));
        ClusterPlan plan = InventoryLoader.load(Files.writeString(dir.resolve("inventory-" + n + ".yaml"), yaml)).clusters().get(0);
        return plan.members();
    }

    private static List<List<String>> names(List<List<MemberPlan>> batches) {
        return batches.stream().map(b -> b.stream().map(MemberPlan::hostName).toList()).toList();
    }

    @Test
    void fiveMembersGoTwoAtATimeWithTheLeaderAloneLast() throws Exception {
        assertThat(names(ReleaseOrder.batches(members(5), Optional.of("beta-1"))))
                .containsExactly(List.of("beta-0", "beta-2"), List.of("beta-3", "beta-4"), List.of("beta-1"));
    }

    @Test
    void threeMembersGoOneAtATime() throws Exception {
        assertThat(names(ReleaseOrder.batches(members(3), Optional.of("beta-0"))))
                .containsExactly(List.of("beta-1"), List.of("beta-2"), List.of("beta-0"));
    }

    @Test
    void theLeaderJoinsALastBatchWithRoom() throws Exception {
        assertThat(names(ReleaseOrder.batches(members(7), Optional.of("beta-6"))))
                .containsExactly(List.of("beta-0", "beta-1", "beta-2"), List.of("beta-3", "beta-4", "beta-5"), List.of("beta-6"));
        assertThat(names(ReleaseOrder.batches(members(6), Optional.of("beta-0"))))
                .containsExactly(List.of("beta-1", "beta-2"), List.of("beta-3", "beta-4"), List.of("beta-5", "beta-0"));
    }

    @Test
    void withoutAKnownLeaderTheInventoryOrderHolds() throws Exception {
        assertThat(names(ReleaseOrder.batches(members(5), Optional.empty())))
                .containsExactly(List.of("beta-0", "beta-1"), List.of("beta-2", "beta-3"), List.of("beta-4"));
        assertThat(names(ReleaseOrder.batches(members(1), Optional.of("beta-0")))).containsExactly(List.of("beta-0"));
    }

    @Test
    void noBatchEverTakesTheQuorumDown() throws Exception {
        for (int size = 1; size <= 9; size++) {
            int n = size;
            List<MemberPlan> all = members(n);
            for (Optional<String> leader : List.of(Optional.<String>empty(), Optional.of("beta-" + (n / 2)))) {
                List<List<MemberPlan>> batches = ReleaseOrder.batches(all, leader);
                int quorum = n / 2 + 1;
                // One or two members cannot keep a quorum through any restart: one at a time, as before batches.
                assertThat(batches).as("n=%d", n).allSatisfy(b -> assertThat(b.size())
                        .isEqualTo(n <= 2 ? 1 : b.size()).isLessThanOrEqualTo(n <= 2 ? 1 : n - quorum));
                assertThat(batches.stream().flatMap(List::stream).toList()).as("every member exactly once, n=%d", n)
                        .containsExactlyInAnyOrderElementsOf(all);
                leader.ifPresent(l -> assertThat(batches.get(batches.size() - 1)).extracting(MemberPlan::hostName).contains(l));
            }
        }
    }
}
