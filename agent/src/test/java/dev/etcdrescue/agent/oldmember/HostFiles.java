package dev.etcdrescue.agent.oldmember;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A host's unit dirs (etc, run, lib) and other files under a temp dir, for reading old members the way the agent does. */
public final class HostFiles {
    public final Path root;
    public final Path etc;
    public final Path run;
    public final Path lib;

    public HostFiles(Path root) {
        this.root = root;
        this.etc = root.resolve("etc/systemd/system");
        this.run = root.resolve("run/systemd/system");
        this.lib = root.resolve("lib/systemd/system");
    }

    public BaseUnits units() {
        return new BaseUnits(List.of(etc, lib), List.of(etc, run, lib), List.of(run));
    }

    /** Writes {@code text} at {@code relative} under the root (its "/" replaced by the temp dir) and returns the path. */
    public Path write(String relative, String text) {
        Path file = root.resolve(relative.startsWith("/") ? relative.substring(1) : relative);
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    public OldMember read(String unit) {
        BaseUnit base = units().require(unit);
        return OldMemberReader.read(base, new Specifiers(base.name(), "host-1", "0123456789abcdef"));
    }
}
