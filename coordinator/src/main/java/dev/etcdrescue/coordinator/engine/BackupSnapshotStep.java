package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.agent.SnapshotDistribution;
import dev.etcdrescue.coordinator.agent.SourceTransfer;
import dev.etcdrescue.coordinator.backup.BackupFetch;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.inventory.SnapshotSource;
import dev.etcdrescue.coordinator.report.Outcome;
import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.coordinator.report.SnapshotSummary;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import io.grpc.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The snapshot phase of {@code recover --from-backup}: the holder of the first copy that reads back has its agent unpack
 * and stage it (TakeSnapshot with the backup's id), and distribute sends it from there to the other agents, as it sends
 * a snapshot the source's agent took (decision 0022): the coordinator carries none of the bytes. It checks the staged
 * digest against the backup's manifest as the holder listed it, the trailer and the writer's version. A copy whose
 * holder cannot read it back is passed over with the reason; a holder whose agent does not know staging a backup (an
 * older agent), or a {@code --distribution} that routes through the coordinator, has the coordinator fetch the copy
 * instead, as before.
 */
final class BackupSnapshotStep {
    private static final Duration STAGE_TIMEOUT = Duration.ofMinutes(30);

    private BackupSnapshotStep() {}

    /**
     * @return true when a holder's agent staged the backup (the run's snapshot facts are set and the snapshot goes agent to
     *     agent); false when the run's plan now names a copy fetched through the coordinator, for the file path to take on
     * @throws PhaseFailedException when no copy could be staged or fetched (nothing was changed on any host)
     */
    static boolean stage(RecoveryRun run, SnapshotSource.Backup backup, AgentChannels channels, long t0) {
        SnapshotDistribution.Mode option = run.options.distribution();
        List<String> passedOver = new ArrayList<>();
        if (option != SnapshotDistribution.Mode.AUTO && !option.fromSource()) {
            run.reporter.note(PhaseName.SNAPSHOT, "--distribution " + option.label() + ": the coordinator fetches the backup and sends it");
            fetch(run, backup, backup.inOrder(), channels, passedOver);
            return false;
        }
        SnapshotDistribution.Mode mode = option == SnapshotDistribution.Mode.AUTO
                ? SnapshotRoute.sourceMode(run.plan.members().size() - 1) : option;
        for (int i = 0; i < backup.inOrder().size(); i++) {
            SnapshotSource.Copy copy = backup.inOrder().get(i);
            Optional<MemberPlan> holder = run.plan.members().stream().filter(m -> m.hostName().equals(copy.holder())).findFirst();
            if (holder.isEmpty()) {
                // Listed by a host of this cluster's inventory, so never the case today; said rather than assumed.
                run.reporter.note(PhaseName.SNAPSHOT, copy.describe() + ": " + copy.holder() + " is no inventory host, so its agent"
                        + " cannot send to the others: the coordinator fetches it");
                fetch(run, backup, backup.inOrder().subList(i, backup.inOrder().size()), channels, passedOver);
                return false;
            }
            MemberPlan member = holder.get();
            SnapshotDistribution.Target target = new SnapshotDistribution.Target(member.hostName(), run.agents.get(member.hostName()),
                    run.header(member));
            TransferResult staged;
            try {
                if (copy.inObjectStore()) {
                    run.reporter.note(PhaseName.SNAPSHOT, copy.describe() + ": the agent on " + member.hostName()
                            + " downloads it, reads it back against its signed manifest and stages it");
                }
                staged = SourceTransfer.stageBackup(target, copy.id(), copy.inObjectStore(), copy.snapshotSize(), STAGE_TIMEOUT,
                        (h, bytes, total) -> run.reporter.transferProgress(h, bytes, total),
                        (h, note) -> run.reporter.note(PhaseName.SNAPSHOT, "[" + h + "] " + note));
            } catch (RuntimeException e) {
                if (AgentError.code(e) == Status.Code.UNIMPLEMENTED) {
                    run.reporter.note(PhaseName.SNAPSHOT, copy.describe() + ": the agent on " + member.hostName()
                            + " does not stage backups (an older agent): the coordinator fetches it and sends it");
                    fetch(run, backup, backup.inOrder().subList(i, backup.inOrder().size()), channels, passedOver);
                    return false;
                }
                passOver(run, passedOver, copy.describe() + ": " + AgentError.describe(e, member.agentEndpoint().toString()));
                continue;
            }
            Optional<String> wrong = check(copy, staged);
            if (wrong.isPresent()) {
                passOver(run, passedOver, copy.describe() + ": " + wrong.get());
                continue;
            }
            accept(run, copy, staged, mode, t0);
            return true;
        }
        throw new PhaseFailedException(PhaseName.SNAPSHOT, FailureKind.REFUSED,
                BackupFetch.noneArrived(run.plan.name(), backup.which(), passedOver).getMessage());
    }

    /** What the staged file must be: the snapshot the manifest describes, with etcd's trailer and status. */
    static Optional<String> check(SnapshotSource.Copy copy, TransferResult staged) {
        if (!staged.getSha256().equals(copy.snapshotSha256()) || staged.getSize() != copy.snapshotSize()) {
            return Optional.of("staged with SHA-256 " + staged.getSha256() + " (" + staged.getSize() + " bytes), its manifest says "
                    + copy.snapshotSha256() + " (" + copy.snapshotSize() + " bytes)");
        }
        if (!staged.getHasHashTrailer() || !staged.hasSnapshotStatus()) {
            return Optional.of("staged " + (staged.getHasHashTrailer() ? "without etcd's snapshot status" : "without a valid SHA-256 trailer"));
        }
        if (staged.getSnapshotStatus().getRevision() != copy.revision()) {
            return Optional.of("staged at revision " + staged.getSnapshotStatus().getRevision() + ", its manifest says " + copy.revision());
        }
        return Optional.empty();
    }

    private static void accept(RecoveryRun run, SnapshotSource.Copy copy, TransferResult staged, SnapshotDistribution.Mode mode, long t0) {
        var status = staged.getSnapshotStatus();
        // The writer: the storage version the tool reads (etcd 3.6 on), else the etcd the manifest says took the backup.
        Optional<String> writer = SourceSnapshotStep.storageMinor(status.getVersion()).or(() -> SourceSnapshotStep.storageMinor(copy.etcdVersion()));
        if (writer.isPresent()) {
            SnapshotVersionGate.Verdict v = SnapshotVersionGate.check(new java.util.TreeMap<>(run.etcdVersions), writer,
                    "the backup's etcd " + writer.get());
            v.warnings().forEach(w -> run.reporter.note(PhaseName.SNAPSHOT, "WARNING: " + w));
            if (!v.refused().isEmpty()) {
                throw new PhaseFailedException(PhaseName.SNAPSHOT, FailureKind.REFUSED, String.join("; ", v.refused())
                        + ". Nothing was changed on any host");
            }
        }
        String host = copy.holder();
        run.distribution = mode;
        run.snapshotHolder = host;
        run.transferId = staged.getTransferId();
        run.expectedRevision = status.getRevision();
        run.snapshot = new SnapshotFile(Path.of(staged.getStagedPath()), staged.getSize(), staged.getSha256(), SnapshotDigest.Trailer.VALID);
        String origin = "backup " + copy.id() + " (taken " + copy.takenAt() + " on " + copy.takenBy() + "), "
                + (copy.inObjectStore() ? "the copy in " + copy.location() + ", downloaded, "
                : copy.copyFrom().isEmpty() ? "" : "the copy ") + "read back and staged by the agent on " + host;
        run.snapshotSummary = new SnapshotSummary(origin, host + ":" + staged.getStagedPath(), staged.getSize(), staged.getSha256(), "valid",
                status.getRevision(), status.getTotalKeys(), status.getHash(), 0, writer.orElse("unknown"), null, null, null, null, null);
        run.reporter.note(PhaseName.SNAPSHOT, "distribution " + mode.label() + ": the agent on " + host + " holds backup " + copy.id()
                + " and sends it to " + (run.plan.members().size() - 1) + " host(s) "
                + (mode == SnapshotDistribution.Mode.SOURCE_FANOUT ? "itself" : "along a chain"));
        double secs = Math.max(1e-3, PreflightPhase.since(t0).toMillis() / 1000.0);
        run.recordCluster(PhaseName.SNAPSHOT, Outcome.OK, String.format(Locale.ROOT,
                "%s: %d bytes in %.1fs, revision %d, %d keys, sha256 %s (the manifest's), hash trailer valid; staged on %s, "
                        + "the coordinator received none of it", origin, staged.getSize(), secs, status.getRevision(), status.getTotalKeys(),
                staged.getSha256(), host), PreflightPhase.since(t0));
    }

    /** The present path through the coordinator: the first of {@code copies} that arrives whole becomes the run's file. */
    private static void fetch(RecoveryRun run, SnapshotSource.Backup backup, List<SnapshotSource.Copy> copies, AgentChannels channels,
                              List<String> passedOver) {
        BackupFetch fetch = new BackupFetch(channels, STAGE_TIMEOUT);
        for (SnapshotSource.Copy copy : copies) {
            MemberPlan holder = run.plan.members().stream().filter(m -> m.hostName().equals(copy.holder())).findFirst().orElse(null);
            if (copy.inObjectStore()) {
                passOver(run, passedOver, copy.describe() + ": a copy in object storage is staged by an agent, not fetched through the"
                        + " coordinator (which holds no key for the store): use --distribution auto or source-*");
                continue;
            }
            if (holder == null) {
                passOver(run, passedOver, copy.describe() + ": " + copy.holder() + " is not in the inventory");
                continue;
            }
            try {
                Path file = fetch.download(holder, copy.id(), copy.snapshotSha256(), backup.workDir());
                run.reporter.note(PhaseName.SNAPSHOT, "backup " + copy.id() + " read back whole from " + (copy.copyFrom().isEmpty() ? ""
                        : "the copy on ") + copy.holder() + " into " + file);
                run.plan = run.plan.withSnapshot(new SnapshotSource.File(file, true));
                return;
            } catch (RuntimeException | java.io.IOException e) {
                passOver(run, passedOver, copy.describe() + ": "
                        + (e instanceof UserException ? e.getMessage() : AgentError.describe(e, holder.agentEndpoint().toString())));
            }
        }
        throw new PhaseFailedException(PhaseName.SNAPSHOT, FailureKind.REFUSED,
                BackupFetch.noneArrived(run.plan.name(), backup.which(), passedOver).getMessage());
    }

    private static void passOver(RecoveryRun run, List<String> passedOver, String why) {
        passedOver.add(why);
        run.reporter.note(PhaseName.SNAPSHOT, "passed over " + why);
    }
}
