package dev.etcdrescue.coordinator.snapshot;

import java.net.URI;

/**
 * A member that answered its Status: the candidate to snapshot from, and what doctor and replace-member
 * read of each member ({@code memberId}, {@code learner}, {@code errors}: 0, false and empty when not asked).
 */
public record SourceMember(URI endpoint, String version, long revision, long raftIndex, long dbSize, long leaderId,
                           long memberId, boolean learner, java.util.List<String> errors) {
    public SourceMember {
        errors = java.util.List.copyOf(errors);
    }

    public SourceMember(URI endpoint, String version, long revision, long raftIndex, long dbSize, long leaderId) {
        this(endpoint, version, revision, raftIndex, dbSize, leaderId, 0, false, java.util.List.of());
    }

    public boolean seesLeader() {
        return leaderId != 0;
    }
}
