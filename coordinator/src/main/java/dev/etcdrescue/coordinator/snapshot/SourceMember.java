package dev.etcdrescue.coordinator.snapshot;

import java.net.URI;

/** An old member that answered: the candidate to snapshot from. */
public record SourceMember(URI endpoint, String version, long revision, long raftIndex, long dbSize, long leaderId) {
    public boolean seesLeader() {
        return leaderId != 0;
    }
}
