package dev.etcdrescue.agent.oldmember;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The unit the new member's unit is copied from: its file and its drop-ins in the order systemd
 * applies them, so a directive in a drop-in overrides the unit's own (the last assignment wins).
 */
public record BaseUnit(String name, UnitFile file, List<UnitFile> dropIns) {
    public BaseUnit {
        dropIns = List.copyOf(dropIns);
    }

    /** A unit without drop-ins. */
    public BaseUnit(String name, Path path, String text) {
        this(name, UnitFile.parse(path, text, false), List.of());
    }

    public Path path() {
        return file.path();
    }

    /** The unit file's own text (without its drop-ins). */
    public String text() {
        return file.text();
    }

    /** The unit file, then its drop-ins. */
    public List<UnitFile> files() {
        List<UnitFile> all = new ArrayList<>();
        all.add(file);
        all.addAll(dropIns);
        return all;
    }

    /** Every directive of {@code [Service]} named {@code key}, in the order systemd reads them, with its file. */
    public List<Located> service(String key) {
        List<Located> found = new ArrayList<>();
        for (UnitFile f : files()) {
            for (UnitFile.Line line : f.directives("Service")) {
                if (line.key().equals(key)) {
                    found.add(new Located(f, line));
                }
            }
        }
        return found;
    }

    /** A directive and the file it is in. */
    public record Located(UnitFile file, UnitFile.Line line) {
        public Source source() {
            return line.source(file.path());
        }

        public String value() {
            return line.value();
        }
    }

    /** {@code User=} of the unit; systemd runs a unit without one as root. */
    public String serviceUser() {
        return last("User").orElse("root");
    }

    public Optional<String> serviceGroup() {
        return last("Group");
    }

    private Optional<String> last(String key) {
        String found = null;
        for (Located l : service(key)) {
            found = l.value().isEmpty() ? null : l.value();
        }
        return Optional.ofNullable(found);
    }
}
