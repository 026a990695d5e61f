package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.inventory.MemberPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * In which batches release restarts the members: as many at once as the quorum allows (with 5 members
 * 2, with 3 one), followers first and the leader in the last batch, so that the cluster keeps a quorum
 * and, once leadership has been handed to a released member, never waits for an election.
 */
final class ReleaseOrder {
    private ReleaseOrder() {}

    /** Members that may be down together while the others keep a quorum (at least one, for a single member). */
    static int perBatch(int members) {
        return Math.max(1, members - (members / 2 + 1));
    }

    static List<List<MemberPlan>> batches(List<MemberPlan> members, Optional<String> leaderHost) {
        int size = perBatch(members.size());
        List<MemberPlan> followers = members.stream().filter(m -> !isLeader(m, leaderHost)).toList();
        List<List<MemberPlan>> batches = new ArrayList<>();
        for (int i = 0; i < followers.size(); i += size) {
            batches.add(new ArrayList<>(followers.subList(i, Math.min(followers.size(), i + size))));
        }
        members.stream().filter(m -> isLeader(m, leaderHost)).findFirst().ifPresent(leader -> {
            // With room in the last batch the leader goes with it: it hands its leadership to a member outside first.
            if (!batches.isEmpty() && batches.get(batches.size() - 1).size() < size) {
                batches.get(batches.size() - 1).add(leader);
            } else {
                batches.add(new ArrayList<>(List.of(leader)));
            }
        });
        return batches.stream().map(List::copyOf).toList();
    }

    private static boolean isLeader(MemberPlan m, Optional<String> leaderHost) {
        return leaderHost.isPresent() && leaderHost.get().equals(m.hostName());
    }
}
