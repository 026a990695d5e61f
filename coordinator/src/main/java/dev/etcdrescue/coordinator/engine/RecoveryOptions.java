package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.agent.SnapshotDistribution;
import java.nio.file.Path;
import java.time.Duration;

/**
 * How a recovery runs.
 *
 * @param keepOld leave the old unit running and enabled (the seed's side-by-side experiment)
 * @param allowNoHashTrailer accept a snapshot without etcd's SHA-256 trailer (a raw member/snap/db)
 * @param forceWithLeader restore even though an old member still sees a leader (quorum may be intact)
 * @param bumpRevision {@link #BUMP_AUTO}, 0 for none, or the amount to add to every revision
 * @param fencePort the client port restored members serve on until verify passes; 0 for no fence
 * @param rollbackOnFailure undo every host at once when a phase fails after hosts were changed
 * @param startTimeout how long the new members get to become active together
 * @param verifyTimeout how long verify waits for every member to be healthy
 * @param allowV2Loss restore even though the source member holds v2 keys, which a v3 snapshot does not carry
 * @param distribution how the snapshot reaches the agents: from the source host's agent (auto when it has one,
 *     source-fanout, source-chain), or from the coordinator: one stream each, started while the snapshot is taken
 *     (streamed) or once it is complete (direct), or along a chain (relay)
 * @param fence when to fence (with {@code fencePort} > 0): always, or only where clients could reach the new members
 * @param keepSnapshot keep the snapshot taken into the work dir after a verified recovery; it holds every key (every
 *     Kubernetes Secret), so by default it is removed once the new cluster passed verify
 */
public record RecoveryOptions(
        Path workDir,
        boolean keepOld,
        boolean allowNoHashTrailer,
        boolean forceWithLeader,
        long bumpRevision,
        int fencePort,
        boolean rollbackOnFailure,
        int chunkSize,
        Duration claimTtl,
        Duration startTimeout,
        Duration verifyTimeout,
        boolean allowV2Loss,
        SnapshotDistribution.Mode distribution,
        FenceMode fence,
        boolean keepSnapshot) {

    /** When restored members serve clients behind the fence port until verify passes. */
    public enum FenceMode {
        /** Only when a planned client port is one the old cluster served, or the old ports are unknown ({@link Fence#decide}). */
        AUTO,
        ALWAYS;

        public static FenceMode parse(String text) {
            try {
                return valueOf(text.toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("fence must be auto or always, not " + text);
            }
        }
    }

    /** The same run in another work dir: a resumed run lives where its journal is now. */
    public RecoveryOptions withWorkDir(Path dir) {
        return new RecoveryOptions(dir, keepOld, allowNoHashTrailer, forceWithLeader, bumpRevision, fencePort, rollbackOnFailure,
                chunkSize, claimTtl, startTimeout, verifyTimeout, allowV2Loss, distribution, fence, keepSnapshot);
    }

    public RecoveryOptions withTimeouts(Duration start, Duration verify) {
        return new RecoveryOptions(workDir, keepOld, allowNoHashTrailer, forceWithLeader, bumpRevision, fencePort, rollbackOnFailure,
                chunkSize, claimTtl, start, verify, allowV2Loss, distribution, fence, keepSnapshot);
    }

    /** Bump where the restore tool supports it, by {@link #DEFAULT_BUMP}. */
    public static final long BUMP_AUTO = -1;
    /**
     * Far more revisions than a cluster writes between a snapshot and a restore, so that watchers
     * (Kubernetes' informers) never see a revision they have already seen; the amount etcd's own
     * restore documentation uses for Kubernetes.
     */
    public static final long DEFAULT_BUMP = 1_000_000_000L;
    public static final int DEFAULT_FENCE_PORT = 32379;
    public static final Duration DEFAULT_CLAIM_TTL = Duration.ofMinutes(2);

    public static RecoveryOptions defaults(Path workDir) {
        return new RecoveryOptions(workDir, false, false, false, BUMP_AUTO, DEFAULT_FENCE_PORT, false, 1 << 20,
                DEFAULT_CLAIM_TTL, Duration.ofMinutes(2), Duration.ofMinutes(2), false, SnapshotDistribution.Mode.AUTO,
                FenceMode.AUTO, false);
    }
}
