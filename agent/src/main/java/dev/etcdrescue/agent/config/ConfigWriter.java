package dev.etcdrescue.agent.config;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.io.SafeFiles;
import dev.etcdrescue.agent.journal.JournalEntry;
import dev.etcdrescue.agent.journal.JournaledMoves;
import dev.etcdrescue.agent.spec.MemberPlan;
import dev.etcdrescue.agent.spec.PathRules;
import dev.etcdrescue.agent.spec.UnitNames;
import dev.etcdrescue.proto.v1.ConfigureRequest;
import dev.etcdrescue.proto.v1.ConfigureResult;
import dev.etcdrescue.proto.v1.MovedFile;
import dev.etcdrescue.proto.v1.OperationHeader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
    private final JournaledMoves moves;

    public ConfigWriter(Path envDir, Path unitDir, PathRules dataRoots, BaseUnits baseUnits, JournaledMoves moves) {
        this.envDir = envDir;
        this.unitDir = unitDir;
        this.dataRoots = dataRoots;
        this.baseUnits = baseUnits;
        this.moves = moves;
    }

    public Path envFile(String unit) {
        return envDir.resolve(UnitNames.bare(unit, "new_unit"));
    }

    public Path unitFile(String unit) {
        return unitDir.resolve(UnitNames.serviceFile(unit, "new_unit"));
    }

    public ConfigureResult configure(ConfigureRequest request) throws IOException {
        OperationHeader header = request.getHeader();
        String newUnit = UnitNames.bare(request.getNewUnit(), "new_unit");
        String baseUnitName = UnitNames.bare(request.getBaseUnit(), "base_unit");
        if (newUnit.equals(baseUnitName)) {
            throw AgentException.invalidArgument("new_unit must differ from base_unit (" + newUnit
                    + "): the new member runs beside the old one until the cut-over");
        }
        MemberPlan plan = MemberPlan.from(request.getMember(), dataRoots);
        BaseUnit base = baseUnits.require(baseUnitName);
        Path envFile = envFile(newUnit);
        Path unitFile = unitFile(newUnit);
        String envText = EnvFileRenderer.render(plan, request.getExtraList(), header.getClusterName(),
                header.getOperationId());
        String unitText = UnitRenderer.render(base, envFile, header.getOperationId());
        requireDir(envDir, "env_dir");
        requireDir(unitDir, "unit_dir");

        List<MovedFile> movedAside = new ArrayList<>();
        write(header.getOperationId(), envFile, envText, null).ifPresent(movedAside::add);
        write(header.getOperationId(), unitFile, unitText, newUnit).ifPresent(movedAside::add);
        return ConfigureResult.newBuilder()
                .setEnvFile(envFile.toString())
                .setUnitFile(unitFile.toString())
                .addAllMovedAside(movedAside)
                .setEnvFileContent(envText)
                .setUnitFileContent(unitText)
                .build();
    }

    private Optional<MovedFile> write(String operationId, Path target, String content, String unit) throws IOException {
        if (Files.isRegularFile(target) && Files.readString(target, StandardCharsets.UTF_8).equals(content)) {
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
