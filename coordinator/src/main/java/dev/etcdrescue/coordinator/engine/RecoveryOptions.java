package dev.etcdrescue.coordinator.engine;

import java.nio.file.Path;
import java.time.Duration;

/**
 * How a recovery runs.
 *
 * @param keepOld leave the old unit running and enabled (the seed's side-by-side experiment)
 * @param allowNoHashTrailer accept a snapshot without etcd's SHA-256 trailer (a raw member/snap/db)
 * @param forceWithLeader restore even though an old member still sees a leader (quorum may be intact)
 * @param startTimeout how long the new members get to become active together
 * @param verifyTimeout how long verify waits for every member to be healthy
 */
public record RecoveryOptions(
        Path workDir,
        boolean keepOld,
        boolean allowNoHashTrailer,
        boolean forceWithLeader,
        int chunkSize,
        Duration claimTtl,
        Duration startTimeout,
        Duration verifyTimeout) {

    public static RecoveryOptions defaults(Path workDir) {
        return new RecoveryOptions(workDir, false, false, false, 1 << 20, Duration.ofMinutes(2),
                Duration.ofMinutes(2), Duration.ofMinutes(2));
    }
}
