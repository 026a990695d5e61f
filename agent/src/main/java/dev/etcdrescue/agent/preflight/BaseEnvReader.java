package dev.etcdrescue.agent.preflight;

import dev.etcdrescue.agent.config.BaseUnit;
import dev.etcdrescue.proto.v1.EnvSetting;
import dev.etcdrescue.proto.v1.Finding;
import dev.etcdrescue.proto.v1.Severity;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The old member's settings: the {@code ETCD_*} lines of the files its unit names in
 * {@code EnvironmentFile=} (Debian: {@code -/etc/default/%p}), read as systemd reads them, so the
 * coordinator can carry over what the new member must keep. Reading changes nothing; a missing file
 * is no error (systemd ignores a missing {@code -}file too), an unreadable or oversized one is a
 * warning, because the operator can still give the settings in the inventory.
 */
public final class BaseEnvReader {
    /** Env files are a few lines; anything this large is not one, and is not read into a reply. */
    static final long MAX_ENV_FILE = 1L << 20;
    private static final Pattern ENVIRONMENT_FILE = Pattern.compile("^\\s*EnvironmentFile\\s*=(.*)$");
    private static final Pattern ETCD_KEY = Pattern.compile("ETCD_[A-Z0-9_]{1,64}");

    /** What was read: the settings in file order, the files they came from (comma-separated), findings. */
    public record BaseEnv(List<EnvSetting> settings, String files, List<Finding> findings) {}

    private BaseEnvReader() {}

    public static BaseEnv read(BaseUnit unit) {
        List<Finding> findings = new ArrayList<>();
        Map<String, String> values = new LinkedHashMap<>();
        List<String> read = new ArrayList<>();
        for (String file : environmentFiles(unit, findings)) {
            boolean optional = file.startsWith("-");
            Path path = Path.of(optional ? file.substring(1) : file);
            Optional<String> text = text(path, optional, findings);
            text.ifPresent(t -> {
                read.add(path.toString());
                EnvFileParser.parse(t).forEach((key, value) -> {
                    if (ETCD_KEY.matcher(key).matches()) {
                        values.put(key, value);
                    }
                });
            });
        }
        List<EnvSetting> settings = new ArrayList<>();
        values.forEach((k, v) -> settings.add(EnvSetting.newBuilder().setKey(k).setValue(v).build()));
        return new BaseEnv(settings, String.join(",", read), findings);
    }

    /** The unit's EnvironmentFile= values in order, specifiers resolved; an empty assignment resets the list, as in systemd. */
    static List<String> environmentFiles(BaseUnit unit, List<Finding> findings) {
        List<String> files = new ArrayList<>();
        for (String line : unit.text().split("\n")) {
            Matcher m = ENVIRONMENT_FILE.matcher(line);
            if (!m.matches()) {
                continue;
            }
            String value = m.group(1).strip();
            if (value.isEmpty()) {
                files.clear();
                continue;
            }
            resolve(value, unit.name()).ifPresentOrElse(files::add, () -> findings.add(finding("base-env-specifier",
                    "EnvironmentFile=" + value + " in " + unit.path() + " uses a specifier etcd-rescue does not resolve (only"
                            + " %n %N %p %i %I %%): its settings are not carried over; give them in the inventory's etcd_settings")));
        }
        return files;
    }

    /** systemd's unit-name specifiers; empty for any other (their values depend on the manager, not the unit). */
    static Optional<String> resolve(String value, String unitFile) {
        String full = unitFile.endsWith(".service") ? unitFile : unitFile + ".service";
        String bare = full.substring(0, full.length() - ".service".length());
        int at = bare.indexOf('@');
        String prefix = at < 0 ? bare : bare.substring(0, at);
        String instance = at < 0 ? "" : bare.substring(at + 1);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c != '%') {
                out.append(c);
                continue;
            }
            if (++i == value.length()) {
                return Optional.empty();
            }
            switch (value.charAt(i)) {
                case 'n' -> out.append(full);
                case 'N' -> out.append(bare);
                case 'p' -> out.append(prefix);
                case 'i', 'I' -> out.append(instance);
                case '%' -> out.append('%');
                default -> {
                    return Optional.empty();
                }
            }
        }
        return Optional.of(out.toString());
    }

    private static Optional<String> text(Path path, boolean optional, List<Finding> findings) {
        if (!path.isAbsolute()) {
            findings.add(finding("base-env-unreadable", "EnvironmentFile=" + path + " is not absolute (systemd ignores it):"
                    + " nothing is carried over from it"));
            return Optional.empty();
        }
        if (!Files.exists(path)) {
            if (!optional) {
                findings.add(finding("base-env-missing", "the old unit's EnvironmentFile " + path + " does not exist: nothing is"
                        + " carried over from it (the old unit could not have started with it missing)"));
            }
            return Optional.empty();
        }
        try {
            if (!Files.isRegularFile(path)) {
                findings.add(finding("base-env-unreadable", path + " is not a regular file: nothing is carried over from it;"
                        + " give the old member's settings in the inventory's etcd_settings"));
                return Optional.empty();
            }
            long size = Files.size(path);
            if (size > MAX_ENV_FILE) {
                findings.add(finding("base-env-too-large", path + " has " + size + " bytes, more than an env file's limit of "
                        + MAX_ENV_FILE + ": it is not read and nothing is carried over from it; give the old member's settings"
                        + " in the inventory's etcd_settings"));
                return Optional.empty();
            }
            return Optional.of(new String(Files.readAllBytes(path), StandardCharsets.UTF_8));
        } catch (IOException e) {
            findings.add(finding("base-env-unreadable", "cannot read " + path + " (" + e.getMessage() + "): nothing is carried"
                    + " over from it; give the old member's settings in the inventory's etcd_settings"));
            return Optional.empty();
        }
    }

    private static Finding finding(String code, String message) {
        return Finding.newBuilder().setSeverity(Severity.WARNING).setCode(code).setField("base_unit").setMessage(message).build();
    }
}
