package dev.etcdrescue.agent.oldmember;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.spec.UnitNames;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Looks base units up in base_unit_dirs in order, as systemd does (/etc before /lib), and gathers
 * their drop-ins ({@code <unit>.service.d/*.conf}) from every unit dir: a drop-in shadows one of the
 * same name in a later dir, a link to /dev/null masks it, and all apply in file-name order.
 */
public final class BaseUnits {
    /** Drop-in dirs systemd reads besides the unit dirs: what {@code systemctl set-property} and {@code edit --runtime} write. */
    private static final Path CONTROL = Path.of("/etc/systemd/system.control");
    private static final Path RUNTIME_CONTROL = Path.of("/run/systemd/system.control");
    private static final Path RUNTIME = Path.of("/run/systemd/system");
    /** Unit files and drop-ins are a few lines; anything larger is not read. */
    private static final long MAX_UNIT_FILE = 1L << 20;

    private final List<Path> dirs;
    private final List<Path> dropInDirs;
    private final List<Path> runtimeDirs;

    /** @param runtimeDirs dirs whose drop-ins are read but, being gone at the next boot, are not carried */
    public BaseUnits(List<Path> dirs, List<Path> dropInDirs, List<Path> runtimeDirs) {
        this.dirs = List.copyOf(dirs);
        this.dropInDirs = List.copyOf(dropInDirs);
        this.runtimeDirs = List.copyOf(runtimeDirs);
    }

    /** Units and drop-ins in {@code dirs} only (tests, and hosts whose systemd reads nothing else). */
    public BaseUnits(List<Path> dirs) {
        this(dirs, dirs, List.of());
    }

    /** This host's systemd: the control and runtime dirs around the configured unit dirs, in systemd's order. */
    public static BaseUnits system(List<Path> dirs) {
        List<Path> dropIns = new ArrayList<>(List.of(CONTROL, RUNTIME_CONTROL));
        for (int i = 0; i < dirs.size(); i++) {
            dropIns.add(dirs.get(i));
            if (i == 0 && !dirs.contains(RUNTIME)) {
                dropIns.add(RUNTIME);
            }
        }
        return new BaseUnits(dirs, dropIns, List.of(RUNTIME, RUNTIME_CONTROL));
    }

    public Optional<BaseUnit> find(String unit) {
        String name = UnitNames.serviceFile(unit, "base_unit");
        for (Path dir : dirs) {
            Path file = dir.resolve(name);
            if (Files.isRegularFile(file)) {
                return Optional.of(new BaseUnit(name, UnitFile.parse(file, read(file), false), dropIns(name)));
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

    private List<UnitFile> dropIns(String name) {
        Map<String, Path> byName = new TreeMap<>();
        for (Path dir : dropInDirs) {
            Path d = dir.resolve(name + ".d");
            if (!Files.isDirectory(d)) {
                continue;
            }
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(d, "*.conf")) {
                for (Path entry : entries) {
                    byName.putIfAbsent(entry.getFileName().toString(), entry);
                }
            } catch (IOException e) {
                throw AgentException.failedPrecondition("cannot list the drop-in dir " + d + ": " + e.getMessage());
            }
        }
        List<UnitFile> files = new ArrayList<>();
        for (Path file : byName.values()) {
            if (masked(file) || !Files.isRegularFile(file)) {
                continue;
            }
            boolean runtime = runtimeDirs.stream().anyMatch(file::startsWith);
            files.add(UnitFile.parse(file, read(file), runtime));
        }
        return files;
    }

    private static boolean masked(Path file) {
        try {
            return Files.isSymbolicLink(file) && Files.readSymbolicLink(file).equals(Path.of("/dev/null"));
        } catch (IOException e) {
            return false;
        }
    }

    private static String read(Path file) {
        try {
            long size = Files.size(file);
            if (size > MAX_UNIT_FILE) {
                throw AgentException.failedPrecondition(file + " has " + size + " bytes, more than a unit file's limit of "
                        + MAX_UNIT_FILE + ": it is not read");
            }
            return Files.readString(file);
        } catch (IOException e) {
            throw AgentException.failedPrecondition("cannot read the base unit's file " + file + ": " + e.getMessage());
        }
    }
}
