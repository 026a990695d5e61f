package dev.etcdrescue.coordinator.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class RelayChainTest {
    @Test
    void everyAgentsGrantNamesTheRestOfTheChainSoTheNextOneRecognisesItself() {
        List<List<String>> hops = RelayChain.nextHops(List.of("a:1", "b:1", "c:1"));

        assertThat(hops).containsExactly(List.of("b:1", "c:1"), List.of("c:1"), List.of());
        // What an agent checks (RelayGrants.checkUpstream): the upstream's hops after the first are its own.
        for (int i = 1; i < hops.size(); i++) {
            assertThat(hops.get(i - 1).subList(1, hops.get(i - 1).size())).isEqualTo(hops.get(i));
        }
    }

    @Test
    void aChainNeverVisitsAnAgentTwice() {
        assertThat(RelayChain.nextHops(List.of("a:1"))).containsExactly(List.of());
        assertThatThrownBy(() -> RelayChain.nextHops(List.of("a:1", "b:1", "a:1"))).hasMessageContaining("twice");
    }
}
