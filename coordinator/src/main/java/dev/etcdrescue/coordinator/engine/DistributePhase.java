package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.cli.ExitCodes;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.proto.v1.TransferState;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Streams the snapshot to every agent at once. Each agent verifies the announced SHA-256 before it
 * keeps the file; the run goes on only when every host reports the same digest and revision.
 */
final class DistributePhase implements Phase {
    /** Generous floor so that a slow host under load is not cut off; large files get 10 MB/s worth. */
    private static final Duration MIN_TRANSFER_BUDGET = Duration.ofMinutes(2);

    @Override
    public PhaseName name() {
        return PhaseName.DISTRIBUTE;
    }

    @Override
    public void run(RecoveryRun run) throws Exception {
        var file = run.snapshot;
        Duration budget = MIN_TRANSFER_BUDGET.plusSeconds(file.size() / 10_000_000);
        run.forEachHost(name(), (m, agent) -> TransferRetry.<RecoveryRun.Done>policy(
                why -> run.reporter.note(name(), "[" + m.hostName() + "] transfer interrupted, resuming from the agent's durable offset: " + why))
                .get(() -> {
            TransferState state = agent.beginTransfer(BeginTransferRequest.newBuilder()
                    .setHeader(run.header(m))
                    .setTransferId(file.transferId())
                    .setTotalSize(file.size())
                    .setSha256(file.sha256())
                    .setSource(String.valueOf(run.snapshotFacts.get("origin")))
                    .build());
            TransferResult result;
            String how;
            if (state.getComplete()) {
                result = state.getResult();
                how = "already held the verified file (resumed run)";
            } else {
                long t0 = System.nanoTime();
                result = agent.upload(run.header(m), file.transferId(), file.path(), state.getDurableOffset(),
                        run.options.chunkSize(), b -> run.reporter.transferProgress(m.hostName(), b, file.size()), budget);
                double secs = Math.max(1e-3, (System.nanoTime() - t0) / 1e9);
                how = String.format(Locale.ROOT, "received %d bytes%s in %.1fs (%.0f MiB/s)", file.size() - state.getDurableOffset(),
                        state.getDurableOffset() > 0 ? " (resumed at " + state.getDurableOffset() + ")" : "", secs,
                        (file.size() - state.getDurableOffset()) / secs / (1 << 20));
            }
            if (!result.getSha256().equals(file.sha256())) {
                return new RecoveryRun.Done(Outcome.FAILED, "agent reports sha256 " + result.getSha256() + ", expected " + file.sha256());
            }
            run.transfers.put(m.hostName(), result);
            return RecoveryRun.Done.changed(how + "; sha256 verified; revision " + result.getSnapshotStatus().getRevision()
                    + ", " + result.getSnapshotStatus().getTotalKeys() + " keys; staged at " + result.getStagedPath());
        }));
        Set<Long> revisions = run.transfers.values().stream().map(t -> t.getSnapshotStatus().getRevision()).collect(Collectors.toSet());
        if (revisions.size() != 1 || !revisions.contains(run.expectedRevision)) {
            throw new PhaseFailedException(name(), ExitCodes.FAILED, "the hosts' restore tools read revisions " + revisions
                    + " from the snapshot, the coordinator read " + run.expectedRevision + ": the tools disagree on the file");
        }
    }
}
