package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.GrowingFile;
import dev.etcdrescue.coordinator.agent.LiveDistribution;
import dev.etcdrescue.coordinator.agent.SnapshotDistribution;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.files.PrivateFiles;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.inventory.SnapshotSource;
import dev.etcdrescue.coordinator.report.Outcome;
import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.coordinator.report.SnapshotSummary;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.coordinator.snapshot.SnapshotTaker;
import dev.etcdrescue.snapshotformat.bolt.BoltSnapshot;
import dev.etcdrescue.snapshotformat.bolt.NotASnapshotException;
import dev.etcdrescue.snapshotformat.bolt.SnapshotInfo;
import java.time.Duration;
import java.util.Optional;

/**
 * Takes the snapshot from the chosen survivor, or checks the given file. When the survivor's host has an agent
 * (the default route, {@link SnapshotRoute}), that agent takes it and keeps it ({@link SourceSnapshotStep}); when
 * it cannot, the default falls back to the coordinator taking it with jetcd, whose trailer is checked here. With
 * streamed distribution the coordinator's snapshot goes on to every agent while it is taken (LiveDistribution):
 * distribute then only waits for those uploads to end.
 */
final class SnapshotPhase implements Phase {
    private final SnapshotTaker taker;
    private final AgentChannels channels;

    SnapshotPhase(SnapshotTaker taker, AgentChannels channels) {
        this.taker = taker;
        this.channels = channels;
    }

    @Override
    public PhaseName name() {
        return PhaseName.SNAPSHOT;
    }

    @Override
    public void run(RecoveryRun run) throws Exception {
        long t0 = System.nanoTime();
        run.wireAtSnapshot = new long[] {channels.wire().sent(), channels.wire().received()};
        if (run.plan.snapshot() instanceof SnapshotSource.Backup backup && BackupSnapshotStep.stage(run, backup, channels, t0)) {
            return;
        }
        String agentFailure = null;
        SnapshotRoute.Plan route;
        try {
            route = SnapshotRoute.plan(run.options.distribution(), run.plan.snapshot() instanceof SnapshotSource.File, run.plan,
                    run.source == null ? null : run.source.endpoint());
        } catch (IllegalArgumentException e) {
            throw new PhaseFailedException(name(), FailureKind.REFUSED, e.getMessage() + ". Nothing was changed on any host");
        }
        run.distribution = route.mode();
        run.reporter.note(name(), "distribution " + route.mode().label() + ": " + route.why());
        if (route.fromSource()) {
            String host = route.sourceHost().orElseThrow();
            Optional<String> failed = SourceSnapshotStep.take(run, host, t0);
            if (failed.isEmpty()) {
                return;
            }
            Optional<SnapshotDistribution.Mode> fallback = SnapshotRoute.fallback(run.options.distribution());
            if (fallback.isEmpty()) {
                throw new PhaseFailedException(name(), FailureKind.PHASE_FAILED, "[" + host + "] the agent could not take the snapshot: "
                        + failed.get() + ". Nothing was changed on any host; fix that on " + host + ", or let the coordinator take it"
                        + " (--distribution streamed)");
            }
            agentFailure = failed.get();
            run.distribution = fallback.get();
            run.reporter.note(name(), "[" + host + "] the agent could not take the snapshot (" + failed.get()
                    + "); the coordinator takes it instead (--distribution " + run.distribution.label() + ")");
        }
        SnapshotFile file;
        String origin;
        GrowingFile growing = null;
        if (run.plan.snapshot() instanceof SnapshotSource.File f) {
            file = SnapshotFile.inspect(f.path());
            origin = "file " + f.path();
        } else {
            PrivateFiles.createDirectories(run.options.workDir());
            origin = "member " + run.source.endpoint() + " at revision " + run.source.revision();
            boolean stream = run.distribution == SnapshotDistribution.Mode.STREAMED;
            growing = stream ? new GrowingFile() : null;
            GrowingFile live = growing;
            try {
                file = taker.take(run.source, run.options.workDir().resolve("snapshot.db"), Duration.ofMinutes(30),
                        part -> {
                            if (live != null) {
                                startStreaming(run, part, live, origin);
                            }
                        },
                        bytes -> {
                            if (live != null) {
                                live.wrote(bytes);
                            }
                        });
            } catch (RuntimeException | java.io.IOException e) {
                stopStreaming(run, growing, "taking the snapshot failed");
                throw cannotTake(run, route, agentFailure, e);
            }
        }
        try {
            check(run, file, origin, t0);
        } catch (RuntimeException | java.io.IOException e) {
            stopStreaming(run, growing, "the snapshot failed its checks: " + e.getMessage());
            throw e;
        }
        run.transferId = run.live != null ? run.live.transferId() : file.transferId();
        if (!(run.plan.snapshot() instanceof SnapshotSource.File)) {
            run.etcdBytesReceived = file.size();
        }
        if (growing != null) {
            // Checked: the agents may get the last chunk, with the size and digest they verify the file against.
            growing.complete(file.size(), file.sha256());
        }
    }

    /**
     * The coordinator could not take the snapshot (after the source's agent could not either, when it tried): one failure
     * naming the source member's host, both reasons, and how to go on. Nothing outside staging has changed yet, and a
     * resume takes the snapshot again, so the operator only has to make the member answer.
     */
    private static Exception cannotTake(RecoveryRun run, SnapshotRoute.Plan route, String agentFailure, Exception e) {
        if (!(e instanceof UserException u) || u.kind() != FailureKind.PHASE_FAILED) {
            return e;
        }
        java.net.URI endpoint = run.source.endpoint();
        String host = route.sourceHost().or(() -> SnapshotRoute.sourceHost(run.plan, endpoint).map(MemberPlan::hostName)).orElse("-");
        String why = agentFailure == null ? e.getMessage()
                : "the agent could not take it (" + agentFailure + "), nor could the coordinator (" + e.getMessage() + ")";
        return new PhaseFailedException(PhaseName.SNAPSHOT, FailureKind.PHASE_FAILED, "[" + host + "] no snapshot of the member at "
                + endpoint + ": " + why + ". Nothing was changed on any host; once that member answers again (etcdctl --endpoints=" + endpoint
                + " endpoint status, from " + host + " and from here), continue with: etcd-rescue resume " + run.options.workDir()
                + " (or run recover again)");
    }

    /**
     * Starts one upload per host from the file the snapshot is being written to (LiveDistribution), under a
     * transfer id of this attempt's own: an attempt killed half way leaves a partial file no later one reuses.
     */
    private void startStreaming(RecoveryRun run, java.nio.file.Path part, GrowingFile growing, String origin) {
        try {
            String id = "live-" + run.operationId + "-" + java.util.HexFormat.of().toHexDigits(
                    java.util.concurrent.ThreadLocalRandom.current().nextInt());
            run.live = new LiveDistribution(part, growing, id, origin, run.options.chunkSize(),
                    DistributePhase.budget(run.source.dbSize()), run.plan.members().size(), run.source.dbSize());
            run.liveUploads.putAll(run.live.start(run.plan.members().stream().map(m -> DistributePhase.target(run, m)).toList(),
                    (host, sent, total) -> run.reporter.transferProgress(host, sent, total)));
            run.reporter.note(name(), "streaming the snapshot to " + run.plan.members().size() + " hosts while it is taken"
                    + " (transfer " + id + "); each keeps it only once the coordinator has checked it");
        } catch (java.io.IOException e) {
            run.reporter.note(name(), "cannot stream the snapshot while it is taken (" + e.getMessage() + "); distribute sends it after");
        }
    }

    /** No agent may keep a snapshot that was not taken whole or failed its checks: their streams end without a last chunk. */
    private static void stopStreaming(RecoveryRun run, GrowingFile growing, String why) {
        if (growing != null) {
            growing.fail(why);
        }
        run.liveUploads.clear();
    }

    /** Every host's etcd against the etcd that wrote the file, read from its meta bucket as etcd reads it. */
    private void checkWriter(RecoveryRun run, SnapshotInfo info) {
        String what = info.storageMinor().map(v -> info.storageVersion().isEmpty()
                        ? "the snapshot's storage format (etcd " + v + ": meta/term, no meta/storageVersion)"
                        : "the snapshot's storage version " + info.storageVersion())
                .orElse("the snapshot's storage format (etcd 3.4 or older: neither meta/term nor meta/storageVersion)");
        SnapshotVersionGate.Verdict v = SnapshotVersionGate.check(new java.util.TreeMap<>(run.etcdVersions),
                info.storageMinor(), what);
        v.warnings().forEach(w -> run.reporter.note(name(), "WARNING: " + w));
        if (!v.refused().isEmpty()) {
            throw new PhaseFailedException(name(), FailureKind.REFUSED, String.join("; ", v.refused())
                    + ". Nothing was changed on any host");
        }
    }

    private void check(RecoveryRun run, SnapshotFile file, String origin, long t0) throws java.io.IOException {
        switch (file.trailer()) {
            case MISMATCH -> throw new PhaseFailedException(name(), FailureKind.REFUSED, "snapshot " + file.path()
                    + " is corrupt: its SHA-256 trailer does not match its content. Nothing was changed on any host; "
                    + "take a new snapshot or use another backup");
            case ABSENT -> {
                if (!run.options.allowNoHashTrailer()) {
                    throw new PhaseFailedException(name(), FailureKind.REFUSED, "snapshot " + file.path()
                            + " has no SHA-256 trailer, so its integrity cannot be checked (a raw member/snap/db, or not a snapshot). "
                            + "If it is a db file copied from a member, pass --allow-no-hash-trailer. Nothing was changed on any host");
                }
            }
            case VALID -> { }
        }
        SnapshotInfo info;
        try {
            info = BoltSnapshot.read(file.path());
        } catch (NotASnapshotException e) {
            throw new PhaseFailedException(name(), FailureKind.REFUSED, "snapshot " + e.getMessage()
                    + ". Nothing was changed on any host; take a new snapshot or use another backup");
        }
        if (run.source != null && info.revision() < run.source.revision()) {
            throw new PhaseFailedException(name(), FailureKind.PHASE_FAILED, "snapshot " + file.path() + " holds revision "
                    + info.revision() + " but " + run.source.endpoint() + " reported " + run.source.revision()
                    + " before it was taken: the file is not that member's data");
        }
        checkWriter(run, info);
        run.expectedRevision = info.revision();
        run.snapshot = file;
        run.snapshotSummary = new SnapshotSummary(origin, file.path().toString(), file.size(), file.sha256(),
                file.trailer().name().toLowerCase(java.util.Locale.ROOT), info.revision(), info.totalKeys(), info.hash(),
                info.consistentIndex(), info.storageMinor().orElse("3.4 or older"), null, null, null, null, null);
        run.recordCluster(name(), Outcome.OK, String.format(java.util.Locale.ROOT,
                "%s: %d bytes, revision %d, %d keys, sha256 %s, hash trailer %s", origin, file.size(), info.revision(),
                info.totalKeys(), file.sha256(), file.trailer().name().toLowerCase(java.util.Locale.ROOT)),
                PreflightPhase.since(t0));
    }
}
