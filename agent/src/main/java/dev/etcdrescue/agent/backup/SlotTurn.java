package dev.etcdrescue.agent.backup;

import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Whose turn it is to take the backup of a slot, decided by every agent alone from what its member sees:
 * the members that answer, ordered by id, take the slots in turn; the leader only when no other member
 * answers (a snapshot streams the whole database from the member, and a busy leader then misses
 * heartbeats). Agents that see the cluster alike agree without talking to each other; two that see it
 * differently may both take a slot's backup, or neither, until their views agree again.
 */
final class SlotTurn {
    private SlotTurn() {}

    static long slot(Instant now, Duration interval) {
        return Math.floorDiv(now.toEpochMilli(), interval.toMillis());
    }

    /** The member whose turn {@code slot} is, or empty when no member answers. */
    static Optional<LocalEtcdctl.MemberState> owner(List<LocalEtcdctl.MemberState> members, long slot) {
        List<LocalEtcdctl.MemberState> answering = members.stream().filter(LocalEtcdctl.MemberState::answers)
                .sorted(Comparator.comparing(m -> new java.math.BigInteger(m.id(), 16))).toList();
        List<LocalEtcdctl.MemberState> followers = answering.stream().filter(m -> !m.leader()).toList();
        List<LocalEtcdctl.MemberState> candidates = followers.isEmpty() ? answering : followers;
        return candidates.isEmpty() ? Optional.empty() : Optional.of(candidates.get((int) Math.floorMod(slot, candidates.size())));
    }
}
