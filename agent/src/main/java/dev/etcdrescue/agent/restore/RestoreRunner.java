package dev.etcdrescue.agent.restore;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.config.BaseUnit;
import dev.etcdrescue.agent.config.BaseUnits;
import dev.etcdrescue.agent.io.ProcessResult;
import dev.etcdrescue.agent.io.ProcessRunner;
import dev.etcdrescue.agent.io.SafeFiles;
import dev.etcdrescue.agent.journal.JournaledMoves;
import dev.etcdrescue.agent.spec.Grammar;
import dev.etcdrescue.agent.spec.MemberPlan;
import dev.etcdrescue.agent.spec.PathRules;
import dev.etcdrescue.agent.transfer.StagingArea;
import dev.etcdrescue.proto.v1.MovedFile;
import dev.etcdrescue.proto.v1.RestoreRequest;
import dev.etcdrescue.proto.v1.RestoreResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restores a staged snapshot into a member's data dir. Whatever stood at the data dir (or WAL dir) is
 * moved aside, never deleted; a failed restore's partial output is moved aside too, so the host is
 * left as it was plus clearly named leftovers. The tree is then handed to the base unit's User=.
 */
public final class RestoreRunner {
    private static final Logger log = LoggerFactory.getLogger(RestoreRunner.class);

    private final PathRules dataRoots;
    private final StagingArea staging;
    private final RestoreTools tools;
    private final BaseUnits baseUnits;
    private final String ownerUnit;
    private final ProcessRunner runner;
    private final JournaledMoves moves;
    private final Duration timeout;

    public RestoreRunner(PathRules dataRoots, StagingArea staging, RestoreTools tools, BaseUnits baseUnits,
                         String ownerUnit, ProcessRunner runner, JournaledMoves moves, Duration timeout) {
        this.dataRoots = dataRoots;
        this.staging = staging;
        this.tools = tools;
        this.baseUnits = baseUnits;
        this.ownerUnit = ownerUnit;
        this.runner = runner;
        this.moves = moves;
        this.timeout = timeout;
    }

    public RestoreResult restore(RestoreRequest request, String operationId) throws IOException {
        String transferId = Grammar.identifier(request.getTransferId(), "transfer_id");
        MemberPlan plan = MemberPlan.from(request.getMember(), dataRoots);
        Path snapshot = staging.stagedFile(transferId);
        if (!Files.isRegularFile(snapshot)) {
            throw AgentException.failedPrecondition("no verified snapshot is staged for transfer " + transferId
                    + ": finish BeginTransfer/UploadSnapshot first");
        }
        DetectedTool tool = tools.detect().orElseThrow(() -> AgentException.failedPrecondition(
                "neither etcdutl nor etcdctl was found in tool_dirs " + tools.toolDirs()
                        + ": install etcd's client tools"));
        RestoreOptions options = new RestoreOptions(request.getSkipHashCheck(), request.getBumpRevision(),
                request.getMarkCompacted());
        CommandLine command = RestoreCommand.build(tool, snapshot, plan, options);
        BaseUnit base = baseUnits.require(ownerUnit);
        requireRootExists(plan.dataDir());
        plan.walDir().ifPresent(RestoreRunner::requireRootExists);

        Optional<MovedFile> movedData = moves.moveAsideIfPresent(operationId, plan.dataDir());
        Optional<MovedFile> movedWal = plan.walDir().isPresent()
                ? moves.moveAsideIfPresent(operationId, plan.walDir().get()) : Optional.empty();
        movedData.ifPresent(m -> log.info("moved the existing data dir {} aside to {}", m.getOriginal(), m.getMovedTo()));
        movedWal.ifPresent(m -> log.info("moved the existing WAL dir {} aside to {}", m.getOriginal(), m.getMovedTo()));
        moves.recordCreated(operationId, plan.dataDir());
        plan.walDir().ifPresent(wal -> moves.recordCreated(operationId, wal));

        log.info("restoring {} into {} with {}", snapshot, plan.dataDir(), command.argv());
        ProcessResult result = runWithoutThrowing(command);
        logOutput(result);
        if (!result.succeeded()) {
            String leftovers = moveFailedOutputAside(plan, operationId);
            String message = "snapshot restore failed: " + result.failureSummary() + leftovers;
            throw result.timedOut() || result.exitCode() < 0
                    ? AgentException.internal(message, null) : AgentException.failedPrecondition(message);
        }
        DataDirOwner.handOver(plan.dataDir(), base.serviceUser(), base.serviceGroup());
        if (plan.walDir().isPresent()) {
            DataDirOwner.handOver(plan.walDir().get(), base.serviceUser(), base.serviceGroup());
        }
        SafeFiles.fsyncDirectory(plan.dataDir().getParent());
        return RestoreResult.newBuilder()
                .setDataDir(plan.dataDir().toString())
                .setMovedAsideTo(movedData.map(MovedFile::getMovedTo).orElse(""))
                .setTool(tool.toProto())
                .addAllCommand(command.argv())
                .setOwner(base.serviceUser())
                .setDurationMs(result.took().toMillis())
                .build();
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
                Path aside = SafeFiles.moveAside(dir, ".etcd-rescue-" + operationId + ".failed");
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
