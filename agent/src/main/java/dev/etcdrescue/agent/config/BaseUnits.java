package dev.etcdrescue.agent.config;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.spec.UnitNames;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** Looks base units up in base_unit_dirs in order, as systemd does (/etc before /lib). */
public final class BaseUnits {
    private final List<Path> dirs;

    public BaseUnits(List<Path> dirs) {
        this.dirs = List.copyOf(dirs);
    }

    public Optional<BaseUnit> find(String unit) {
        String name = UnitNames.serviceFile(unit, "base_unit");
        for (Path dir : dirs) {
            Path file = dir.resolve(name);
            if (Files.isRegularFile(file)) {
                try {
                    return Optional.of(new BaseUnit(name, file, Files.readString(file)));
                } catch (IOException e) {
                    throw AgentException.failedPrecondition("cannot read the base unit " + file + ": " + e.getMessage());
                }
            }
        }
        return Optional.empty();
    }

    public BaseUnit require(String unit) {
        return find(unit).orElseThrow(() -> AgentException.failedPrecondition("base unit "
                + UnitNames.serviceFile(unit, "base_unit") + " was not found in " + dirs
                + ": install etcd's unit or name the right base unit"));
    }

    public List<Path> dirs() {
        return dirs;
    }
}
