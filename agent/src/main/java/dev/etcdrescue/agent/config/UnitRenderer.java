package dev.etcdrescue.agent.config;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.oldmember.ExecLine;
import dev.etcdrescue.agent.oldmember.LayoutException;
import dev.etcdrescue.agent.oldmember.OldMember;
import dev.etcdrescue.agent.oldmember.UnitFile;
import dev.etcdrescue.agent.spec.UnitScope;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Renders the new member's unit from the old one and its drop-ins, so that the new member runs with
 * the plan's identity and nothing else of the old member's configuration by construction (decision
 * 0017): {@code ExecStart=} runs the same etcd, through the same wrapper, with no etcd argument;
 * {@code EnvironmentFile=} is the new env file alone, which holds every etcd setting; the old
 * {@code ETCD_*} assignments of {@code Environment=} are dropped; everything else (user, limits,
 * ordering, mounts, resource controls) is copied, drop-ins included, since systemd applies drop-ins by
 * unit name and the new unit has another. {@code Alias=} is dropped: enabling a copy with the same
 * alias would clash. Runtime drop-ins (/run) are not copied: they are gone at the next boot.
 */
public final class UnitRenderer {
    private UnitRenderer() {}

    public static String render(OldMember old, Path envFile, String operationId) {
        if (old.launch().isEmpty()) {
            throw AgentException.failedPrecondition("the base unit " + old.unit().path() + " cannot be read for sure: "
                    + old.findings().stream().map(f -> f.getMessage()).findFirst().orElse("its ExecStart= is unreadable"));
        }
        List<String> service = List.of("ExecStart=" + old.launch().get().withoutArguments(), "EnvironmentFile=" + envFile);
        List<String> out = new ArrayList<>();
        out.add(UnitScope.MARKER + " for operation " + operationId + " from " + old.unit().path()
                + (old.unit().dropIns().isEmpty() ? "" : " and its drop-ins") + ".");
        out.add("# etcd gets no flags: every setting is in " + envFile + ". Alias= and ETCD_* Environment= assignments are dropped.");
        for (UnitFile dropIn : old.unit().dropIns()) {
            if (dropIn.runtime()) {
                out.add("# Not copied: the runtime drop-in " + dropIn.path() + " (gone at the next boot).");
            }
        }
        boolean inserted = false;
        for (UnitFile file : old.unit().files()) {
            if (file.runtime()) {
                continue;
            }
            if (file != old.unit().file()) {
                out.add("# From the drop-in " + file.path() + ":");
            }
            for (UnitFile.Line line : file.lines()) {
                if (!line.isDirective()) {
                    out.add(line.raw());
                    if (!inserted && file == old.unit().file() && line.raw().strip().equals("[Service]")) {
                        out.addAll(service);
                        inserted = true;
                    }
                    continue;
                }
                rewritten(line).ifPresent(out::add);
            }
        }
        if (!inserted) {
            out.add("[Service]");
            out.addAll(service);
        }
        String text = String.join("\n", out);
        return text.endsWith("\n") ? text : text + "\n";
    }

    /** A directive as the new unit holds it; empty when it is dropped. */
    private static Optional<String> rewritten(UnitFile.Line line) {
        boolean service = "Service".equals(line.section());
        if ("Install".equals(line.section()) && line.key().equals("Alias")) {
            return Optional.empty();
        }
        if (service && (line.key().equals("ExecStart") || line.key().equals("EnvironmentFile"))) {
            return Optional.empty();
        }
        if (service && line.key().equals("Environment") && line.value().contains("ETCD_")) {
            return withoutEtcdVariables(line);
        }
        return Optional.of(line.raw());
    }

    private static Optional<String> withoutEtcdVariables(UnitFile.Line line) {
        List<String> kept = new ArrayList<>();
        try {
            for (ExecLine.Word w : ExecLine.split(line.value(), null).argv()) {
                if (!w.text().startsWith("ETCD_")) {
                    kept.add(w.text().chars().anyMatch(c -> Character.isWhitespace(c) || c == '"' || c == '\'' || c == '\\')
                            ? "\"" + w.text().replace("\\", "\\\\").replace("\"", "\\\"") + "\"" : w.text());
                }
            }
        } catch (LayoutException e) {
            // The reader refused this line already; a refused unit is never rendered.
            throw AgentException.failedPrecondition(e.getMessage());
        }
        return kept.isEmpty() ? Optional.empty() : Optional.of("Environment=" + String.join(" ", kept));
    }
}
