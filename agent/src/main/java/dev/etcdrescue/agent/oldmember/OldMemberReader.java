package dev.etcdrescue.agent.oldmember;

import dev.etcdrescue.proto.v1.Finding;
import dev.etcdrescue.proto.v1.Severity;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds an {@link OldMember} from its base unit, reading the files systemd and etcd would read and
 * changing nothing. Whatever cannot be read for sure becomes an ERROR finding naming the file and line:
 * a container wrapper (its fixed container name and its own env file would make the new unit fight the
 * old one), an ExecStart that runs something other than etcd, a setting that cannot be parsed.
 */
public final class OldMemberReader {
    /** Env files are a few lines; anything this large is not one, and is not read into a reply. */
    static final long MAX_ENV_FILE = 1L << 20;
    private static final long MAX_SCRIPT = 64 * 1024;
    private static final Set<String> SHELLS = Set.of("sh", "bash", "dash", "ash", "ksh", "zsh");
    private static final Pattern CONTAINER = Pattern.compile(
            "(?<![\\w.-])(docker|podman|nerdctl|ctr|crictl|rkt|systemd-nspawn)(?![\\w.-])\\s*(\\S*)");
    private static final List<String> EXEC_KEYS = List.of("ExecCondition", "ExecStartPre", "ExecStart", "ExecStartPost",
            "ExecReload", "ExecStop", "ExecStopPost");

    private OldMemberReader() {}

    public static OldMember read(BaseUnit unit, Specifiers specifiers) {
        List<Finding> findings = new ArrayList<>();
        Map<String, Sourced> env = new LinkedHashMap<>();
        environment(unit, specifiers, env, findings);
        List<Path> files = new ArrayList<>();
        for (BaseUnit.Located file : environmentFiles(unit, specifiers, findings)) {
            boolean optional = file.value().startsWith("-");
            Path path = Path.of(optional ? file.value().substring(1) : file.value());
            text(path, optional, file.source(), findings).ifPresent(text -> {
                files.add(path);
                EnvFileParser.assignments(text).forEach((k, v) -> env.put(k, new Sourced(v.value(), new Source(path, v.line()))));
            });
        }
        containers(unit, findings);
        Optional<Launch> launch = Optional.empty();
        Map<String, Setting> flags = Map.of();
        try {
            Launch l = launch(unit, specifiers, env);
            launch = Optional.of(l);
            flags = EtcdFlags.parse(l.args());
        } catch (LayoutException e) {
            findings.add(error("base-unit-unreadable", e.getMessage() + ". etcd-rescue refuses rather than guess the old member's"
                    + " settings: fix the unit, or name with base_unit a unit whose ExecStart runs etcd directly"));
        }
        Optional<Path> configFile = Optional.empty();
        Map<String, Setting> settings = new LinkedHashMap<>();
        OldMember.Kind kind;
        Setting configFlag = flags.containsKey("ETCD_CONFIG_FILE") ? flags.get("ETCD_CONFIG_FILE") : env.containsKey("ETCD_CONFIG_FILE")
                ? new Setting("ETCD_CONFIG_FILE", env.get("ETCD_CONFIG_FILE").value(), "ETCD_CONFIG_FILE", env.get("ETCD_CONFIG_FILE").source())
                : null;
        if (configFlag != null) {
            // etcd reads the config file alone: every other flag and variable is ignored (etcdmain/config.go).
            kind = OldMember.Kind.CONFIG_FILE;
            configFile = Optional.of(Path.of(configFlag.value()));
            try {
                settings.putAll(EtcdConfigFile.read(configFile.get(), configFlag.source()));
            } catch (LayoutException e) {
                findings.add(error("base-config-unreadable", e.getMessage()));
            }
        } else {
            kind = flags.isEmpty() ? OldMember.Kind.ENVIRONMENT : OldMember.Kind.FLAGS;
            env.forEach((k, v) -> {
                if (k.startsWith("ETCD_")) {
                    settings.put(k, new Setting(k, v.value(), k, v.source()));
                }
            });
            flags.forEach((k, v) -> {
                settings.remove(k);
                settings.put(k, v);
            });
        }
        return new OldMember(unit, kind, settings, files, configFile, launch, findings);
    }

    /** {@code Environment=} in order; an empty assignment resets what came before, as in systemd. */
    private static void environment(BaseUnit unit, Specifiers specifiers, Map<String, Sourced> env, List<Finding> findings) {
        for (BaseUnit.Located line : unit.service("Environment")) {
            if (line.value().isEmpty()) {
                env.clear();
                continue;
            }
            try {
                String value = specifiers.resolve(line.value()).orElseThrow(() -> new LayoutException(line.source(),
                        "Environment=" + line.value() + " uses a specifier etcd-rescue does not resolve"));
                for (ExecLine.Word w : ExecLine.split(value, line.source()).argv()) {
                    int eq = w.text().indexOf('=');
                    if (eq > 0) {
                        env.put(w.text().substring(0, eq), new Sourced(w.text().substring(eq + 1), line.source()));
                    }
                }
            } catch (LayoutException e) {
                findings.add(error("base-unit-unreadable", e.getMessage()));
            }
        }
    }

    /** The unit's EnvironmentFile= values in order, specifiers resolved; an empty assignment resets the list. */
    private static List<BaseUnit.Located> environmentFiles(BaseUnit unit, Specifiers specifiers, List<Finding> findings) {
        List<BaseUnit.Located> files = new ArrayList<>();
        for (BaseUnit.Located line : unit.service("EnvironmentFile")) {
            if (line.value().isEmpty()) {
                files.clear();
                continue;
            }
            Optional<String> resolved = specifiers.resolve(line.value());
            if (resolved.isEmpty()) {
                findings.add(error("base-env-specifier", line.source() + ": EnvironmentFile=" + line.value() + " uses a specifier"
                        + " etcd-rescue does not resolve (only %n %N %p %i %I %H %m %%): write the file's path out"));
                continue;
            }
            files.add(new BaseUnit.Located(line.file(), new UnitFile.Line(line.line().raw(), line.line().number(),
                    line.line().section(), line.line().key(), resolved.get())));
        }
        return files;
    }

    private static Launch launch(BaseUnit unit, Specifiers specifiers, Map<String, Sourced> env) throws LayoutException {
        List<BaseUnit.Located> starts = new ArrayList<>();
        for (BaseUnit.Located line : unit.service("ExecStart")) {
            if (line.value().isEmpty()) {
                starts.clear();
            } else {
                starts.add(line);
            }
        }
        Source unitSource = new Source(unit.path(), 1);
        if (starts.isEmpty()) {
            throw new LayoutException(unitSource, unit.name() + " has no ExecStart=");
        }
        if (starts.size() > 1) {
            throw new LayoutException(starts.get(1).source(), unit.name() + " has " + starts.size() + " ExecStart= lines");
        }
        BaseUnit.Located start = starts.get(0);
        String value = specifiers.resolve(start.value()).orElseThrow(() -> new LayoutException(start.source(),
                "ExecStart= uses a specifier etcd-rescue does not resolve"));
        ExecLine.Parsed argv = ExecLine.expand(ExecLine.split(value, start.source()), env);
        List<ExecLine.Word> words = argv.argv();
        List<String> wrapper = new ArrayList<>();
        int i = 0;
        if (basename(words.get(0).text()).equals("env")) {
            wrapper.add(words.get(i++).text());
            while (i < words.size() && words.get(i).text().matches("[A-Za-z_][A-Za-z0-9_]*=.*")) {
                wrapper.add(words.get(i++).text());
            }
            if (i == words.size() || words.get(i).text().startsWith("-")) {
                throw new LayoutException(start.source(), "ExecStart= runs env with options or without a program");
            }
        }
        if (SHELLS.contains(basename(words.get(i).text()))) {
            return shellLaunch(start, argv.prefix(), words, i, env);
        }
        String program = requireEtcd(words.get(i), start.source());
        return new Launch(start.value(), start.source(), argv.prefix(), wrapper, null, program, words.subList(i + 1, words.size()));
    }

    private static Launch shellLaunch(BaseUnit.Located start, String prefix, List<ExecLine.Word> words, int shellAt,
                                      Map<String, Sourced> env) throws LayoutException {
        List<String> wrapper = new ArrayList<>();
        for (int i = 0; i < shellAt; i++) {
            wrapper.add(words.get(i).text());
        }
        int i = shellAt;
        wrapper.add(words.get(i++).text());
        while (i < words.size() && words.get(i).text().startsWith("-") && !words.get(i).text().equals("-c")) {
            wrapper.add(words.get(i++).text());
        }
        if (i + 1 >= words.size() || !words.get(i).text().equals("-c")) {
            throw new LayoutException(start.source(), "ExecStart= runs a shell without -c \"...\": etcd-rescue cannot tell what it runs");
        }
        wrapper.add("-c");
        if (i + 2 < words.size()) {
            throw new LayoutException(start.source(), "ExecStart= passes arguments to its shell script ($0, $1...):"
                    + " etcd-rescue cannot tell what the script gives etcd");
        }
        ShellScript.Command command = ShellScript.parse(words.get(i + 1).text(), start.source(), env);
        String program = requireEtcd(command.command().get(0), start.source());
        return new Launch(start.value(), start.source(), prefix, wrapper, command.assignments(), program,
                command.command().subList(1, command.command().size()));
    }

    /** The program, when it is etcd's binary; a script in its place (a container launcher) or another program is refused. */
    private static String requireEtcd(ExecLine.Word program, Source source) throws LayoutException {
        Path path = Path.of(program.text());
        Optional<String> script = script(path);
        if (script.isPresent()) {
            Matcher m = CONTAINER.matcher(script.get());
            if (m.find()) {
                int line = 1 + (int) script.get().substring(0, m.start()).chars().filter(c -> c == '\n').count();
                throw new LayoutException(source, "ExecStart= runs " + path + ", a script that starts etcd in a container ("
                        + new Source(path, line) + ": " + m.group().strip() + ")");
            }
            throw new LayoutException(source, "ExecStart= runs " + path + ", a script, not etcd's binary");
        }
        if (!basename(program.text()).equals("etcd")) {
            throw new LayoutException(source, "ExecStart= runs " + program.text() + ", not etcd");
        }
        return program.text();
    }

    /** The text of a program file that starts with {@code #!}; empty for a binary or a file that cannot be read. */
    private static Optional<String> script(Path path) {
        if (!path.isAbsolute() || !Files.isRegularFile(path)) {
            return Optional.empty();
        }
        try (InputStream in = Files.newInputStream(path)) {
            byte[] head = in.readNBytes((int) MAX_SCRIPT);
            if (head.length < 2 || head[0] != '#' || head[1] != '!') {
                return Optional.empty();
            }
            return Optional.of(new String(head, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * A container runtime in any Exec*= line: the new unit would be a copy that runs or removes a
     * container of the same name as the old member's, with the old member's env file.
     */
    private static void containers(BaseUnit unit, List<Finding> findings) {
        for (String key : EXEC_KEYS) {
            for (BaseUnit.Located line : unit.service(key)) {
                Matcher m = CONTAINER.matcher(line.value());
                if (m.find()) {
                    findings.add(error("base-unit-container", line.source() + ": " + key + "=" + line.value() + " runs "
                            + m.group(1) + ": etcd runs in a container here. A copy of this unit would share the old"
                            + " member's container name and env file and remove or replace the old member's container."
                            + " etcd-rescue does not recover containerised members: restore this host by hand"
                            + " (docs/runbook.md, 'Layouts'), or run etcd under a plain unit and name it with base_unit"));
                    return;
                }
            }
        }
    }

    private static Optional<String> text(Path path, boolean optional, Source namedAt, List<Finding> findings) {
        if (!path.isAbsolute()) {
            findings.add(warning("base-env-unreadable", namedAt + ": EnvironmentFile=" + path + " is not absolute (systemd ignores"
                    + " it): nothing is carried over from it"));
            return Optional.empty();
        }
        if (!Files.exists(path)) {
            if (!optional) {
                findings.add(warning("base-env-missing", namedAt + ": the old unit's EnvironmentFile " + path + " does not exist:"
                        + " nothing is carried over from it (the old unit could not have started with it missing)"));
            }
            return Optional.empty();
        }
        try {
            if (!Files.isRegularFile(path)) {
                findings.add(warning("base-env-unreadable", path + " is not a regular file: nothing is carried over from it;"
                        + " give the old member's settings in the inventory's etcd_settings"));
                return Optional.empty();
            }
            long size = Files.size(path);
            if (size > MAX_ENV_FILE) {
                findings.add(warning("base-env-too-large", path + " has " + size + " bytes, more than an env file's limit of "
                        + MAX_ENV_FILE + ": it is not read and nothing is carried over from it; give the old member's settings"
                        + " in the inventory's etcd_settings"));
                return Optional.empty();
            }
            return Optional.of(new String(Files.readAllBytes(path), StandardCharsets.UTF_8));
        } catch (IOException e) {
            findings.add(warning("base-env-unreadable", "cannot read " + path + " (" + e.getMessage() + "): nothing is carried"
                    + " over from it; give the old member's settings in the inventory's etcd_settings"));
            return Optional.empty();
        }
    }

    private static String basename(String program) {
        int slash = program.lastIndexOf('/');
        return slash < 0 ? program : program.substring(slash + 1);
    }

    private static Finding error(String code, String message) {
        return Finding.newBuilder().setSeverity(Severity.ERROR).setCode(code).setField("base_unit").setMessage(message).build();
    }

    private static Finding warning(String code, String message) {
        return Finding.newBuilder().setSeverity(Severity.WARNING).setCode(code).setField("base_unit").setMessage(message).build();
    }
}
