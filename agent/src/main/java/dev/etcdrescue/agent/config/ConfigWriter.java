package dev.etcdrescue.agent.config;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.failpoint.Failpoints;
import dev.etcdrescue.agent.io.SafeFiles;
import dev.etcdrescue.agent.journal.JournalEntry;
import dev.etcdrescue.agent.journal.JournaledMoves;
import dev.etcdrescue.agent.oldmember.BaseUnits;
import dev.etcdrescue.agent.oldmember.OldMember;
import dev.etcdrescue.agent.oldmember.OldMemberReader;
import dev.etcdrescue.agent.oldmember.Specifiers;
import dev.etcdrescue.proto.v1.Finding;
import dev.etcdrescue.proto.v1.Severity;
import dev.etcdrescue.agent.spec.MemberPlan;
import dev.etcdrescue.agent.spec.PathRules;
import dev.etcdrescue.agent.spec.UnitNames;
import dev.etcdrescue.agent.spec.UnitScope;
import dev.etcdrescue.proto.v1.ConfigureRequest;
import dev.etcdrescue.proto.v1.ConfigureResult;
import dev.etcdrescue.proto.v1.EnvSetting;
import dev.etcdrescue.proto.v1.MovedFile;
import dev.etcdrescue.proto.v1.OperationHeader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the new member's env file ({@code env_dir/<new_unit>}) and unit
 * ({@code unit_dir/<new_unit>.service}): temp + fsync + atomic rename, after moving whatever stood
 * there aside. A file that already holds exactly the new content is left alone, so a retried
 * ConfigureMember changes nothing.
 */
public final class ConfigWriter {
    private static final Logger log = LoggerFactory.getLogger(ConfigWriter.class);

    private final Path envDir;
    private final Path unitDir;
    private final PathRules dataRoots;
    private final BaseUnits baseUnits;
    private final UnitScope units;
    private final PathRules logDirs;
    private final JournaledMoves moves;
    private final Failpoints failpoints;

    public ConfigWriter(Path envDir, Path unitDir, PathRules dataRoots, BaseUnits baseUnits, UnitScope units,
                        PathRules logDirs, JournaledMoves moves, Failpoints failpoints) {
        this.units = units;
        this.logDirs = logDirs;
        this.envDir = envDir;
        this.unitDir = unitDir;
        this.dataRoots = dataRoots;
        this.baseUnits = baseUnits;
        this.moves = moves;
        this.failpoints = failpoints;
    }

    /** The units this agent may write and read (agent.yaml {@code units:}). */
    public UnitScope units() {
        return units;
    }

    public Path envFile(String unit) {
        return envDir.resolve(UnitNames.bare(unit, "new_unit"));
    }

    public Path unitFile(String unit) {
        return unitDir.resolve(UnitNames.serviceFile(unit, "new_unit"));
    }

    /** The files a ConfigureMember would write, rendered and checked; nothing is written yet. */
    public record Prepared(String operationId, MemberPlan plan, String newUnit, Path envFile, String envText,
                           Path unitFile, String unitText, boolean joinExisting) {
        ConfigureResult result(List<MovedFile> movedAside) {
            return ConfigureResult.newBuilder()
                    .setEnvFile(envFile.toString())
                    .setUnitFile(unitFile.toString())
                    .addAllMovedAside(movedAside)
                    .setEnvFileContent(envText)
                    .setUnitFileContent(unitText)
                    .build();
        }
    }

    /** Checks the request and renders both files, exactly as {@link #write} would write them. */
    public Prepared prepare(ConfigureRequest request) {
        OperationHeader header = request.getHeader();
        String newUnit = units.managed(request.getNewUnit(), "new_unit");
        String baseUnitName = units.managed(request.getBaseUnit(), "base_unit");
        if (newUnit.equals(baseUnitName)) {
            throw AgentException.invalidField("new_unit", "new_unit must differ from base_unit (" + newUnit
                    + "): the new member runs beside the old one until the cut-over");
        }
        units.requireNotShadowing(newUnit, "new_unit");
        MemberPlan plan = MemberPlan.from(request.getMember(), dataRoots);
        OldMember old = oldMember(baseUnitName);
        old.findings().stream().filter(f -> f.getSeverity() == Severity.ERROR).map(Finding::getMessage).findFirst()
                .ifPresent(refusal -> {
                    throw AgentException.failedPrecondition("the base unit cannot be copied safely: " + refusal);
                });
        return new Prepared(header.getOperationId(), plan, newUnit, envFile(newUnit),
                renderEnv(header, plan, request.getExtraList(), request.getJoinExisting()), unitFile(newUnit),
                renderUnit(header, old, newUnit), request.getJoinExisting());
    }

    /** The env file's content; Preflight shows it through this same method. */
    public String renderEnv(OperationHeader header, MemberPlan plan, List<EnvSetting> extras) {
        return renderEnv(header, plan, extras, false);
    }

    /** The same for a member that joins a running cluster ({@code ETCD_INITIAL_CLUSTER_STATE=existing}) when {@code joinExisting}. */
    public String renderEnv(OperationHeader header, MemberPlan plan, List<EnvSetting> extras, boolean joinExisting) {
        String text = EnvFileRenderer.render(plan, extras, header.getClusterName(), header.getOperationId(), joinExisting);
        ExtraSetting.requireLogFilesInside(extras, logDirs);
        ExtraFiles.requirePresent(extras);
        return text;
    }

    /** The old member's effective configuration, read from its unit on this host. */
    public OldMember oldMember(String baseUnit) {
        var base = baseUnits.require(baseUnit);
        return OldMemberReader.read(base, Specifiers.forHost(base.name()));
    }

    /** The unit's content; Preflight shows it through this same method. */
    public String renderUnit(OperationHeader header, OldMember old, String newUnit) {
        return UnitRenderer.render(old, envFile(newUnit), header.getOperationId());
    }

    /** True when both files already hold exactly the rendered content: writing would change nothing. */
    public boolean unchanged(Prepared prepared) throws IOException {
        return holds(prepared.envFile(), prepared.envText()) && holds(prepared.unitFile(), prepared.unitText());
    }

    public ConfigureResult write(Prepared prepared) throws IOException {
        requireDir(envDir, "env_dir");
        requireDir(unitDir, "unit_dir");
        List<MovedFile> movedAside = new ArrayList<>();
        if (prepared.joinExisting()) {
            // A joining member fetches everything from the leader; an old data dir here (the fenced member's)
            // would make it start as that member. Moved aside, never deleted: it is the old member's data.
            moves.moveAsideIfPresent(prepared.operationId(), prepared.plan().dataDir()).ifPresent(movedAside::add);
            if (prepared.plan().walDir().isPresent()) {
                moves.moveAsideIfPresent(prepared.operationId(), prepared.plan().walDir().get()).ifPresent(movedAside::add);
            }
            movedAside.forEach(m -> log.info("moved the data of the member replaced here aside: {} to {}", m.getOriginal(), m.getMovedTo()));
            // etcd creates the joining member's data dir itself when it starts: journaled here as this operation's,
            // so that Rollback moves the learner's data aside too.
            moves.recordCreated(prepared.operationId(), prepared.plan().dataDir());
            prepared.plan().walDir().ifPresent(wal -> moves.recordCreated(prepared.operationId(), wal));
        }
        write(prepared.operationId(), prepared.envFile(), prepared.envText(), null).ifPresent(movedAside::add);
        failpoints.hit(Failpoints.CONFIGURE_AFTER_ENV_FILE);
        write(prepared.operationId(), prepared.unitFile(), prepared.unitText(), prepared.newUnit())
                .ifPresent(movedAside::add);
        return prepared.result(movedAside);
    }

    /** Reads a file this writer manages, for comparison; empty when there is none. */
    public static Optional<String> current(Path file) throws IOException {
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        return Optional.of(Files.readString(file, StandardCharsets.UTF_8));
    }

    private static boolean holds(Path file, String content) throws IOException {
        return current(file).map(content::equals).orElse(false);
    }

    private Optional<MovedFile> write(String operationId, Path target, String content, String unit) throws IOException {
        if (holds(target, content)) {
            log.info("{} already holds the rendered content; left as it is", target);
            return Optional.empty();
        }
        Optional<MovedFile> moved = moves.moveAsideIfPresent(operationId, target);
        moved.ifPresent(m -> log.info("moved the existing {} aside to {}", m.getOriginal(), m.getMovedTo()));
        var journal = moves.journal();
        journal.append(operationId, unit == null ? JournalEntry.created(journal.now(), target.toString())
                : JournalEntry.createdUnit(journal.now(), target.toString(), unit));
        // Neither file holds secrets (TLS keys are referenced by path), and systemd reads both as root.
        SafeFiles.writeAtomically(target, content, "rw-r--r--");
        log.info("wrote {}", target);
        return moved;
    }

    private static void requireDir(Path dir, String field) {
        if (!Files.isDirectory(dir)) {
            throw AgentException.failedPrecondition(field + " " + dir + " does not exist on this host");
        }
    }
}
