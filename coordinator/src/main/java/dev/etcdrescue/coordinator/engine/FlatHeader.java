package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.agent.SnapshotDistribution;
import java.nio.file.Path;

/**
 * The header of a journal written before the options were journalled whole, read so that such a run
 * can still be resumed. The options it lacks are what a resume used to give them: the defaults, and
 * streamed distribution; a journal without {@code fence} predates the fence mode, which then fenced
 * whenever {@code fencePort} asked.
 */
record FlatHeader(String operationId, String cluster, String inventory, String inventorySha256,
                  boolean keepOld, boolean allowNoHashTrailer, boolean forceWithLeader, int chunkSize,
                  long bumpRevision, int fencePort, boolean rollbackOnFailure, String fence) {

    Journal.Header header(Path workDir) {
        RecoveryOptions d = RecoveryOptions.defaults(workDir);
        RecoveryOptions options = new RecoveryOptions(workDir, keepOld, allowNoHashTrailer, forceWithLeader, bumpRevision, fencePort,
                rollbackOnFailure, chunkSize, d.claimTtl(), d.startTimeout(), d.verifyTimeout(), false,
                SnapshotDistribution.Mode.STREAMED,
                fence == null ? RecoveryOptions.FenceMode.ALWAYS : RecoveryOptions.FenceMode.parse(fence), true);
        return new Journal.Header(operationId, cluster, inventory, inventorySha256, options);
    }
}
