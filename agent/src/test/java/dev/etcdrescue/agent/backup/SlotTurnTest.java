package dev.etcdrescue.agent.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class SlotTurnTest {
    private static LocalEtcdctl.MemberState member(String id, boolean answers, boolean leader) {
        return new LocalEtcdctl.MemberState(id, "m-" + id, List.of(), List.of(), answers, leader);
    }

    @Test
    void theFollowersThatAnswerTakeTheSlotsInTurnAndTheLeaderNever() {
        List<LocalEtcdctl.MemberState> members = List.of(member("c3", true, false), member("a1", true, true), member("b2", true, false),
                member("ff", false, false));
        List<String> owners = LongStream.range(100, 106).mapToObj(slot -> SlotTurn.owner(members, slot).orElseThrow().id()).toList();
        assertThat(owners).containsExactly("b2", "c3", "b2", "c3", "b2", "c3");
    }

    @Test
    void everyAgentThatSeesTheSameMembersInAnyOrderNamesTheSameOwner() {
        List<LocalEtcdctl.MemberState> seen = new ArrayList<>(List.of(member("9", true, false), member("10", true, false),
                member("a", true, true)));
        String owner = SlotTurn.owner(seen, 41).orElseThrow().id();
        java.util.Collections.reverse(seen);
        assertThat(SlotTurn.owner(seen, 41).orElseThrow().id()).isEqualTo(owner);
    }

    @Test
    void theLeaderTakesItsTurnOnlyWhenNoOtherMemberAnswers() {
        assertThat(SlotTurn.owner(List.of(member("a", true, true), member("b", false, false)), 5).orElseThrow().id()).isEqualTo("a");
        assertThat(SlotTurn.owner(List.of(member("a", false, true), member("b", false, false)), 5)).isEmpty();
    }

    @Test
    void aSlotIsOneIntervalOfTheEpoch() {
        Duration interval = Duration.ofMinutes(30);
        Instant t = Instant.parse("2026-12-05T03:00:00Z");
        assertThat(SlotTurn.slot(t.plusSeconds(1799), interval)).isEqualTo(SlotTurn.slot(t, interval));
        assertThat(SlotTurn.slot(t.plusSeconds(1800), interval)).isEqualTo(SlotTurn.slot(t, interval) + 1);
    }
}
