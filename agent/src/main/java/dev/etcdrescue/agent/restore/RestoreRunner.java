package dev.etcdrescue.agent.restore;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.oldmember.BaseUnit;
import dev.etcdrescue.agent.oldmember.BaseUnits;
import dev.etcdrescue.agent.failpoint.Failpoints;
import dev.etcdrescue.agent.io.ProcessResult;
import dev.etcdrescue.agent.io.ProcessRunner;
import dev.etcdrescue.agent.io.SafeFiles;
import dev.etcdrescue.agent.journal.JournalEntry;
import dev.etcdrescue.agent.journal.JournaledMoves;
import dev.etcdrescue.agent.journal.OperationJournal;
import dev.etcdrescue.agent.spec.Grammar;
import dev.etcdrescue.agent.spec.MemberPlan;
import dev.etcdrescue.agent.spec.PathRules;
import dev.etcdrescue.agent.spec.UnitScope;
import dev.etcdrescue.agent.staging.StagingArea;
import dev.etcdrescue.proto.v1.ErrorReason;
import dev.etcdrescue.proto.v1.MovedFile;
import dev.etcdrescue.proto.v1.RestoreRequest;
import dev.etcdrescue.proto.v1.RestoreResult;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restores a staged snapshot into a member's data dir. Whatever stood at the data dir (or WAL dir) is
 * moved aside, never deleted; a failed restore's partial output is moved aside too, so the host is
 * left as it was plus clearly named leftovers. The tree is then handed to the base unit's User=
 * (the request's base_unit, else the agent's configured one).
 *
 * <p>The operation journal records each restore's start and completion (with its result), so a
 * RestoreMember repeated by the same operation after a completed restore returns the recorded result
 * and touches nothing ({@link #completed}), and one repeated after a restore the agent did not live
 * to finish moves the partial output aside ({@code .etcd-rescue-<op>.partial}) and restores again.
 */
public final class RestoreRunner {
    private static final Logger log = LoggerFactory.getLogger(RestoreRunner.class);

    private final PathRules dataRoots;
    private final StagingArea staging;
    private final RestoreTools tools;
    private final BaseUnits baseUnits;
    private final UnitScope units;
    private final String ownerUnit;
    private final ProcessRunner runner;
    private final JournaledMoves moves;
    private final Duration timeout;
    private final Failpoints failpoints;

    public RestoreRunner(PathRules dataRoots, StagingArea staging, RestoreTools tools, BaseUnits baseUnits,
                         UnitScope units, String ownerUnit, ProcessRunner runner, JournaledMoves moves, Duration timeout,
                         Failpoints failpoints) {
        this.dataRoots = dataRoots;
        this.staging = staging;
        this.tools = tools;
        this.baseUnits = baseUnits;
        this.units = units;
        this.ownerUnit = ownerUnit;
        this.runner = runner;
        this.moves = moves;
        this.timeout = timeout;
        this.failpoints = failpoints;
    }

    /**
     * The result of this operation's completed restore of the same transfer into the same member spec,
     * when its data dir is still there and nothing undid it since: a repeated RestoreMember (a resumed
     * coordinator, a retry whose reply was lost) returns it instead of restoring again.
     */
    public Optional<RestoreResult> completed(RestoreRequest request, String operationId) {
        String transferId = Grammar.identifier(request.getTransferId(), "transfer_id");
        MemberPlan plan = MemberPlan.from(request.getMember(), dataRoots);
        String key = memberKey(plan, options(request));
        return restoreRecords(operationId, plan).completed()
                .filter(done -> transferId.equals(done.transferId()) && key.equals(done.member()))
                .filter(done -> SafeFiles.exists(plan.dataDir()) && plan.walDir().map(SafeFiles::exists).orElse(true))
                .map(done -> decode(done.result()));
    }

    public RestoreResult restore(RestoreRequest request, String operationId) throws IOException {
        String transferId = Grammar.identifier(request.getTransferId(), "transfer_id");
        MemberPlan plan = MemberPlan.from(request.getMember(), dataRoots);
        String ownerUnitName = request.getBaseUnit().isEmpty() ? ownerUnit
                : units.managed(request.getBaseUnit(), "base_unit");
        Path snapshot = staging.stagedFile(transferId);
        if (!Files.isRegularFile(snapshot)) {
            throw AgentException.failedPrecondition(ErrorReason.NOT_STAGED, "no verified snapshot is staged for transfer " + transferId
                    + ": finish BeginTransfer/UploadSnapshot first");
        }
        DetectedTool tool = tools.detect().orElseThrow(() -> AgentException.failedPrecondition(ErrorReason.TOOL_MISSING,
                "neither etcdutl nor etcdctl was found in tool_dirs " + tools.toolDirs()
                        + tools.refusedNote() + ": install etcd's client tools"));
        RestoreOptions options = options(request);
        CommandLine command = RestoreCommand.build(tool, snapshot, plan, options);
        BaseUnit base = baseUnits.require(ownerUnitName);
        requireRootExists(plan.dataDir());
        plan.walDir().ifPresent(RestoreRunner::requireRootExists);

        RestoreRecords records = restoreRecords(operationId, plan);
        if (records.interrupted()) {
            moveInterruptedOutputAside(plan, operationId);
        }
        Optional<MovedFile> movedData = moves.moveAsideIfPresent(operationId, plan.dataDir());
        Optional<MovedFile> movedWal = plan.walDir().isPresent()
                ? moves.moveAsideIfPresent(operationId, plan.walDir().get()) : Optional.empty();
        movedData.ifPresent(m -> log.info("moved the existing data dir {} aside to {}", m.getOriginal(), m.getMovedTo()));
        movedWal.ifPresent(m -> log.info("moved the existing WAL dir {} aside to {}", m.getOriginal(), m.getMovedTo()));
        moves.recordCreated(operationId, plan.dataDir());
        plan.walDir().ifPresent(wal -> moves.recordCreated(operationId, wal));
        String key = memberKey(plan, options);
        OperationJournal journal = moves.journal();
        journal.append(operationId, JournalEntry.restoreStarted(journal.now(), plan.dataDir().toString(), transferId, key));

        failpoints.hit(Failpoints.RESTORE_BEFORE_TOOL);
        log.info("restoring {} into {} with {}", snapshot, plan.dataDir(), command.argv());
        ProcessResult result = runWithoutThrowing(command);
        logOutput(result);
        if (!result.succeeded()) {
            String leftovers = moveFailedOutputAside(plan, operationId);
            String message = "snapshot restore failed: " + result.failureSummary() + leftovers;
            throw result.timedOut() || result.exitCode() < 0
                    ? new AgentException(Status.Code.INTERNAL, ErrorReason.RESTORE_FAILED, message)
                    : AgentException.failedPrecondition(ErrorReason.RESTORE_FAILED, message);
        }
        failpoints.hit(Failpoints.RESTORE_AFTER_TOOL);
        DataDirOwner.handOver(plan.dataDir(), base.serviceUser(), base.serviceGroup());
        if (plan.walDir().isPresent()) {
            DataDirOwner.handOver(plan.walDir().get(), base.serviceUser(), base.serviceGroup());
        }
        SafeFiles.fsyncDirectory(plan.dataDir().getParent());
        RestoreResult restored = RestoreResult.newBuilder()
                .setDataDir(plan.dataDir().toString())
                .setMovedAsideTo(movedData.map(MovedFile::getMovedTo).orElse(records.movedAsideBefore()))
                .setTool(tool.toProto())
                .addAllCommand(command.argv())
                .setOwner(base.serviceUser())
                .setDurationMs(result.took().toMillis())
                .build();
        journal.append(operationId, JournalEntry.restoreCompleted(journal.now(), plan.dataDir().toString(), transferId,
                key, Base64.getEncoder().encodeToString(restored.toByteArray())));
        return restored;
    }

    /**
     * What a completed restore is recognised by besides its transfer: the member spec fields that
     * shape the data dir (name, dirs, initial cluster, token) and the restore options.
     */
    static String memberKey(MemberPlan plan, RestoreOptions options) {
        return "name=" + plan.name() + ";data_dir=" + plan.dataDir() + ";wal_dir=" + plan.walDir().map(Path::toString).orElse("")
                + ";initial_cluster=" + plan.initialCluster() + ";token=" + plan.initialClusterToken()
                + ";skip_hash_check=" + options.skipHashCheck() + ";bump_revision=" + options.bumpRevision()
                + ";mark_compacted=" + options.markCompacted();
    }

    private static RestoreOptions options(RestoreRequest request) {
        return new RestoreOptions(request.getSkipHashCheck(), request.getBumpRevision(), request.getMarkCompacted());
    }

    /**
     * This operation's restore records for one data dir, read from its journal.
     *
     * @param completed        the last restore that completed and was not superseded or rolled back since
     * @param interrupted      a restore started and never completed (the agent died mid-restore), and
     *                         nothing rolled it back: what stands at the data dir is its partial output
     * @param movedAsideBefore where an earlier attempt of this operation moved the original data dir
     */
    private record RestoreRecords(Optional<JournalEntry> completed, boolean interrupted, String movedAsideBefore) {}

    private RestoreRecords restoreRecords(String operationId, MemberPlan plan) {
        String dataDir = plan.dataDir().toString();
        JournalEntry completed = null;
        boolean open = false;
        String movedAside = "";
        for (JournalEntry e : moves.journal().read(operationId)) {
            switch (e.kind()) {
                case RESTORE_STARTED -> {
                    if (dataDir.equals(e.path())) {
                        completed = null;
                        open = true;
                    }
                }
                case RESTORE_COMPLETED -> {
                    if (dataDir.equals(e.path())) {
                        completed = e;
                        open = false;
                    }
                }
                case ROLLBACK -> {
                    completed = null;
                    open = false;
                    movedAside = "";
                }
                case MOVED_ASIDE -> {
                    if (dataDir.equals(e.path()) && movedAside.isEmpty()) {
                        movedAside = e.movedTo();
                    }
                }
                default -> { }
            }
        }
        return new RestoreRecords(Optional.ofNullable(completed), open, movedAside);
    }

    private static RestoreResult decode(String base64) {
        try {
            return RestoreResult.parseFrom(Base64.getDecoder().decode(base64));
        } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
            throw AgentException.internal("the journal's record of the completed restore is damaged", e);
        }
    }

    /** The output of a restore the agent did not live to finish: kept (never deleted), out of the way. */
    private void moveInterruptedOutputAside(MemberPlan plan, String operationId) throws IOException {
        for (Path dir : plan.walDir().isPresent() ? List.of(plan.dataDir(), plan.walDir().get()) : List.of(plan.dataDir())) {
            if (SafeFiles.exists(dir)) {
                Path aside = moves.leaveAside(operationId, dir, ".etcd-rescue-" + operationId + ".partial");
                log.info("a restore into {} by operation {} was interrupted; its partial output was moved to {}",
                        dir, operationId, aside);
            }
        }
    }

    private ProcessResult runWithoutThrowing(CommandLine command) {
        try {
            return runner.run(command.argv(), command.env(), timeout);
        } catch (RuntimeException e) {
            throw AgentException.internal("cannot run " + command.argv().get(0) + ": " + e.getMessage(), e);
        }
    }

    private String moveFailedOutputAside(MemberPlan plan, String operationId) throws IOException {
        StringBuilder where = new StringBuilder();
        for (Path dir : plan.walDir().isPresent() ? List.of(plan.dataDir(), plan.walDir().get())
                : List.of(plan.dataDir())) {
            if (SafeFiles.exists(dir)) {
                Path aside = moves.leaveAside(operationId, dir, ".etcd-rescue-" + operationId + ".failed");
                where.append("; its partial output was moved to ").append(aside);
            }
        }
        return where.toString();
    }

    private static void requireRootExists(Path dir) {
        Path parent = dir.getParent();
        if (!Files.isDirectory(parent)) {
            throw AgentException.failedPrecondition("the parent directory " + parent + " of " + dir
                    + " does not exist: create it (owned by the service user) or choose another data dir");
        }
    }

    private static void logOutput(ProcessResult result) {
        for (String line : (result.stdout() + "\n" + result.stderr()).split("\n")) {
            if (!line.isBlank()) {
                log.info("restore: {}", line.strip());
            }
        }
    }
}
