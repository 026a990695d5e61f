package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.agent.AgentRetry;
import dev.etcdrescue.coordinator.agent.SnapshotDistribution;
import dev.etcdrescue.coordinator.agent.SourceTransfer;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.report.Outcome;
import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.proto.v1.ToolInfo;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;

/**
 * Gets the snapshot to every agent. When the source's agent took it, that agent sends it to the others
 * ({@link SourceTransfer}: fan-out or chain) and the coordinator carries none of the bytes. When the
 * coordinator holds the file ({@link SnapshotDistribution}): directly, one stream per agent at once, or by
 * relay, where the coordinator sends once and the agents forward along a chain; hosts a failed relay missed
 * then get the file directly. Each agent verifies the announced SHA-256 before it keeps the file; the run
 * goes on only when every host reports the same digest and revision. Records the bytes the coordinator sent
 * and received for the snapshot, measured on its agent channels ({@code coordinatorBytesSent},
 * {@code coordinatorBytesReceived}, {@code coordinatorWireBytesRatio} in the report's snapshot facts).
 */
final class DistributePhase implements Phase {
    /** Generous floor so that a slow host under load is not cut off; large files get 10 MB/s worth. */
    private static final Duration MIN_TRANSFER_BUDGET = Duration.ofMinutes(2);

    private final AgentChannels channels;

    DistributePhase(AgentChannels channels) {
        this.channels = channels;
    }

    @Override
    public PhaseName name() {
        return PhaseName.DISTRIBUTE;
    }

    /** How long one upload may take: the floor, plus 10 MB/s worth of the file. */
    static Duration budget(long size) {
        return MIN_TRANSFER_BUDGET.plusSeconds(size / 10_000_000);
    }

    @Override
    public void run(RecoveryRun run) throws Exception {
        if (run.wireAtSnapshot == null) {
            // A resumed run that skipped the snapshot phase counts from here.
            run.wireAtSnapshot = new long[] {channels.wire().sent(), channels.wire().received()};
        }
        if (run.distribution == null) {
            // A journal from before the route was journalled: the option, as that etcd-rescue read it.
            run.distribution = run.options.distribution() == SnapshotDistribution.Mode.AUTO
                    ? SnapshotDistribution.Mode.STREAMED : run.options.distribution();
        }
        Optional<String> relayFailure = run.snapshotHolder != null ? fromSource(run) : fromCoordinator(run);
        long sent = channels.wire().sent() - run.wireAtSnapshot[0];
        long received = channels.wire().received() - run.wireAtSnapshot[1] + run.etcdBytesReceived;
        run.snapshotSummary = run.snapshotSummary.distributed(run.distribution.label(), sent, received, relayFailure.orElse(null));
        run.reporter.note(name(), String.format(Locale.ROOT, "%s: the coordinator sent %d and received %d bytes for the snapshot"
                        + " (%.4f x its %d bytes)", run.distribution.label(), sent, received,
                run.snapshotSummary.coordinatorWireBytesRatio(), run.snapshot.size()));
        Set<Long> revisions = run.transfers.values().stream().filter(TransferResult::hasSnapshotStatus)
                .map(t -> t.getSnapshotStatus().getRevision()).collect(Collectors.toSet());
        if (revisions.size() != 1 || !revisions.contains(run.expectedRevision)) {
            throw new PhaseFailedException(name(), FailureKind.PHASE_FAILED, "the hosts' restore tools read revisions " + revisions
                    + " from the snapshot, the coordinator read " + run.expectedRevision + ": the tools disagree on the file");
        }
    }

    /**
     * The source's agent holds the snapshot: it sends it to the others (SourceTransfer), the coordinator checks
     * what each reports. The source is first in the order that decides who reads etcd's snapshot status: it read
     * it when it took the snapshot.
     */
    private Optional<String> fromSource(RecoveryRun run) throws Exception {
        var file = run.snapshot;
        String holder = run.snapshotHolder;
        List<String> order = new java.util.ArrayList<>(List.of(holder));
        run.plan.members().stream().map(MemberPlan::hostName).filter(h -> !h.equals(holder)).forEach(order::add);
        List<SnapshotDistribution.Target> receivers = run.plan.members().stream().filter(m -> !m.hostName().equals(holder))
                .map(m -> target(run, m, order)).toList();
        MemberPlan source = run.plan.members().stream().filter(m -> m.hostName().equals(holder)).findFirst().orElseThrow(() ->
                new PhaseFailedException(name(), FailureKind.PHASE_FAILED, "the snapshot is staged on " + holder
                        + ", which is not in the inventory any more: run recover again"));
        SnapshotDistribution.Target sourceTarget = target(run, source, order);
        SourceTransfer transfer = new SourceTransfer(channels, run.transferId, file.size(), file.sha256(), budget(file.size()),
                (host, note) -> run.reporter.note(name(), host.equals("-") ? note : "[" + host + "] " + note),
                (host, sent, total) -> run.reporter.transferProgress(host, sent, total));
        Map<String, SourceTransfer.Delivery> delivered = transfer.distribute(sourceTarget, receivers,
                run.distribution == SnapshotDistribution.Mode.SOURCE_CHAIN, run.executor);
        run.forEachHost(name(), (m, agent) -> {
            if (m.hostName().equals(holder)) {
                var state = transfer.held(sourceTarget);
                if (!state.getComplete()) {
                    return new RecoveryRun.Done(Outcome.FAILED, "the snapshot this host took is no longer staged here ("
                            + run.transferId + "): run recover again to take a new one");
                }
                return accept(run, m, file, state.getResult(), "took the snapshot and sent it on");
            }
            SourceTransfer.Delivery d = delivered.get(m.hostName());
            return d.ok() ? accept(run, m, file, d.result(), d.how()) : new RecoveryRun.Done(Outcome.FAILED, d.failure());
        });
        return Optional.empty();
    }

    /** The coordinator holds the file: direct streams (or those started while it was taken), or a relay chain. */
    private Optional<String> fromCoordinator(RecoveryRun run) throws Exception {
        var file = run.snapshot;
        Duration budget = budget(file.size());
        SnapshotDistribution.Mode mode = run.distribution;
        SnapshotDistribution distribution = new SnapshotDistribution(channels, file.path(), file.size(), file.sha256(),
                run.transferId, run.snapshotSummary.origin(), run.options.chunkSize(), budget,
                run.plan.members().size(), (host, note) -> run.reporter.note(name(), host.equals("-") ? note : "[" + host + "] " + note))
                .withProgress((host, sent, total) -> run.reporter.transferProgress(host, sent, total));
        try {
            Optional<String> relayFailure = Optional.empty();
            if (mode == SnapshotDistribution.Mode.RELAY) {
                List<SnapshotDistribution.Target> targets = run.plan.members().stream().map(m -> target(run, m)).toList();
                relayFailure = distribution.relay(targets, run.executor);
            }
            run.forEachHost(name(), (m, agent) -> {
                Optional<RecoveryRun.Done> streamed = streamed(run, m, file);
                if (streamed.isPresent()) {
                    return streamed.get();
                }
                return AgentRetry.<RecoveryRun.Done>policy(
                        why -> run.reporter.note(name(), "[" + m.hostName()
                                + "] transfer interrupted, resuming from the agent's durable offset: " + why))
                        .get(() -> {
                            SnapshotDistribution.Delivered delivered = distribution.deliver(target(run, m));
                            return accept(run, m, file, delivered.result(), delivered.how());
                        });
            });
            return relayFailure;
        } finally {
            distribution.close();
        }
    }

    /**
     * The host's upload that started while the snapshot was taken, once it has ended: its result when it
     * verified the file, else empty (with a note) and the host gets the finished file the usual way.
     */
    private Optional<RecoveryRun.Done> streamed(RecoveryRun run, MemberPlan m, SnapshotFile file) throws InterruptedException {
        var upload = run.liveUploads.get(m.hostName());
        if (upload == null) {
            return Optional.empty();
        }
        long t0 = System.nanoTime();
        try {
            TransferResult result = upload.get();
            double secs = Math.max(1e-3, (System.nanoTime() - t0) / 1e9);
            RecoveryRun.Done done = accept(run, m, file, result, String.format(Locale.ROOT,
                    "received %d bytes while the snapshot was taken, the last of them %.1fs after it", result.getSize(), secs));
            if (done.outcome() != Outcome.FAILED) {
                return Optional.of(done);
            }
            run.reporter.note(name(), "[" + m.hostName() + "] " + done.message() + "; sending the checked file again");
        } catch (ExecutionException e) {
            run.reporter.note(name(), "[" + m.hostName() + "] streaming the snapshot while it was taken failed ("
                    + AgentError.describe(e.getCause(), run.agents.get(m.hostName()).endpoint().toString()) + "); sending the checked file");
        }
        return Optional.empty();
    }

    /** What the host holds must be the coordinator's file, byte for byte and in the trailer's verdict. */
    private static RecoveryRun.Done accept(RecoveryRun run, MemberPlan m, SnapshotFile file, TransferResult result, String how) {
        if (!result.getSha256().equals(file.sha256())) {
            return new RecoveryRun.Done(Outcome.FAILED, "agent reports sha256 " + result.getSha256() + ", expected " + file.sha256());
        }
        // The restore relies on these checks instead of the tool's own (RestorePhase.skipHashCheck).
        if (result.getHasHashTrailer() != (file.trailer() == SnapshotDigest.Trailer.VALID)) {
            return new RecoveryRun.Done(Outcome.FAILED, "agent found " + (result.getHasHashTrailer() ? "a valid" : "no valid")
                    + " SHA-256 trailer, the coordinator " + file.trailer().name().toLowerCase(Locale.ROOT) + ": they disagree on the file");
        }
        run.transfers.put(m.hostName(), result);
        String status = result.hasSnapshotStatus()
                ? "revision " + result.getSnapshotStatus().getRevision() + ", " + result.getSnapshotStatus().getTotalKeys() + " keys"
                : "snapshot status read on a host with the same restore tool";
        return RecoveryRun.Done.changed(how + "; sha256 verified; " + status + "; staged at " + result.getStagedPath());
    }

    static SnapshotDistribution.Target target(RecoveryRun run, MemberPlan m) {
        return target(run, m, run.plan.members().stream().map(MemberPlan::hostName).toList());
    }

    /** @param order the hosts in the order that decides who reads etcd's snapshot status ({@link #readsStatus}) */
    private static SnapshotDistribution.Target target(RecoveryRun run, MemberPlan m, List<String> order) {
        return new SnapshotDistribution.Target(m.hostName(), run.agents.get(m.hostName()), run.header(m),
                !readsStatus(order, run.tools, m.hostName()));
    }

    /**
     * Whether {@code host} runs etcd's snapshot status on the file it received: the first host (in plan
     * order) of each restore tool, kind and version. The others hold the same bytes (same SHA-256) and
     * would read the same status with the same tool, each reading the whole database once more (a
     * 1.6 GB snapshot: 3.3 s for five at once on two cores). A host whose tool is not known reads it.
     */
    static boolean readsStatus(List<String> hostsInPlanOrder, Map<String, ToolInfo> tools, String host) {
        ToolInfo mine = tools.get(host);
        if (mine == null) {
            return true;
        }
        for (String other : hostsInPlanOrder) {
            if (other.equals(host)) {
                return true;
            }
            ToolInfo theirs = tools.get(other);
            if (theirs != null && theirs.getKind() == mine.getKind() && theirs.getVersion().equals(mine.getVersion())) {
                return false;
            }
        }
        return true;
    }
}
