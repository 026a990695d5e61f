package dev.etcdrescue.systemtest;

import dev.etcdrescue.systemtest.testbed.TestHost;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The etcd process a unit runs on a testbed host, as the kernel sees it: {@code /proc/<pid>/cmdline},
 * {@code environ} and {@code limits} of the unit's MainPID, or of its etcd child when MainPID is a wrapper
 * (a shell, a launch script). From those, the configuration etcd itself ends up with, by etcd's rules:
 * a flag {@code --x} and the variable {@code ETCD_X} name the same setting, and etcd 3.4+ refuses to start
 * when both are set; {@code --config-file} (or {@code ETCD_CONFIG_FILE}) makes etcd ignore every other
 * flag and variable and read the YAML alone.
 */
record RunningEtcd(String host, long pid, List<String> argv, Map<String, String> environ, String limits, Optional<String> configYaml) {
    /** etcd's boolean flags: given alone they mean true, so the next argument is not their value. */
    private static final Set<String> BOOLEAN_FLAGS = Set.of("client-cert-auth", "peer-client-cert-auth", "auto-tls",
            "peer-auto-tls", "strict-reconfig-check", "enable-v2", "enable-pprof", "force-new-cluster", "debug",
            "pre-vote", "enable-grpc-gateway", "socket-reuse-port", "socket-reuse-address", "unsafe-no-fsync",
            "experimental-initial-corrupt-check", "experimental-enable-lease-checkpoint", "experimental-memory-mlock",
            "experimental-enable-distributed-tracing", "enable-log-rotation", "experimental-txn-mode-write-with-shared-buffer",
            "client-crl-file-deny", "version", "help");
    private static final Pattern MAX_OPEN_FILES = Pattern.compile("(?m)^Max open files\\s+(\\S+)\\s+(\\S+)");

    /** The etcd process of {@code unit} on {@code host} now; fails when the unit runs none. */
    static RunningEtcd of(TestHost host, String unit) {
        String main = host.systemctl("show", "-p", "MainPID", "--value", unit).stdout().strip();
        long pid = main.isEmpty() ? 0 : Long.parseLong(main);
        if (pid == 0) {
            throw new AssertionError(unit + " on " + host.name() + " runs no process (state " + host.unitState(unit)
                    + ")\n--- journal\n" + tail(host.journal(unit), 20));
        }
        long etcd = findEtcd(host, pid, 3).orElseThrow(() -> new AssertionError(unit + " on " + host.name()
                + ": neither MainPID " + pid + " (" + comm(host, pid) + ") nor a child of it is etcd"));
        List<String> argv = nulSeparated(read(host, etcd, "cmdline"));
        Map<String, String> environ = new LinkedHashMap<>();
        for (String entry : nulSeparated(read(host, etcd, "environ"))) {
            int eq = entry.indexOf('=');
            if (eq > 0) {
                environ.put(entry.substring(0, eq), entry.substring(eq + 1));
            }
        }
        String limits = new String(read(host, etcd, "limits"), StandardCharsets.UTF_8);
        Optional<String> configFile = configFileOf(argv, environ);
        Optional<String> yaml = configFile.map(f -> host.readFile(f.startsWith("/") ? f : "/" + f));
        return new RunningEtcd(host.name(), etcd, argv, environ, limits, yaml);
    }

    /** The flags on the command line, by name without dashes; a boolean flag given alone is "true". */
    Map<String, String> flags() {
        Map<String, String> flags = new LinkedHashMap<>();
        for (int i = 1; i < argv.size(); i++) {
            String arg = argv.get(i);
            if (!arg.startsWith("-") || arg.equals("-") || arg.equals("--")) {
                continue;
            }
            String body = arg.replaceFirst("^--?", "");
            int eq = body.indexOf('=');
            if (eq >= 0) {
                flags.put(body.substring(0, eq), body.substring(eq + 1));
            } else if (!BOOLEAN_FLAGS.contains(body) && i + 1 < argv.size() && !argv.get(i + 1).startsWith("-")) {
                flags.put(body, argv.get(++i));
            } else {
                flags.put(body, "true");
            }
        }
        return flags;
    }

    /** The {@code ETCD_*} variables of the environment, by the flag name they stand for ({@code ETCD_DATA_DIR}: data-dir). */
    Map<String, String> variables() {
        Map<String, String> vars = new LinkedHashMap<>();
        environ.forEach((k, v) -> {
            if (k.startsWith("ETCD_")) {
                vars.put(k.substring(5).toLowerCase(Locale.ROOT).replace('_', '-'), v);
            }
        });
        return vars;
    }

    /** Settings given both as a flag and as an ETCD_* variable (etcd 3.4+ exits on each), as "--x and ETCD_X". */
    List<String> flagAndVariableConflicts() {
        Map<String, String> vars = variables();
        List<String> both = new ArrayList<>();
        for (String flag : flags().keySet()) {
            if (vars.containsKey(flag)) {
                both.add("--" + flag + " and ETCD_" + flag.toUpperCase(Locale.ROOT).replace('-', '_'));
            }
        }
        return both;
    }

    /** The --config-file flag or ETCD_CONFIG_FILE variable, if either is set. */
    Optional<String> configFile() {
        return configFileOf(argv, environ);
    }

    /**
     * What etcd runs with: the YAML's top-level keys when a config file is given (etcd then ignores flags and
     * variables), otherwise the variables overridden by the flags. Values as text, quotes removed.
     */
    Map<String, String> effectiveConfig() {
        if (configYaml.isPresent()) {
            return topLevelYaml(configYaml.get());
        }
        Map<String, String> effective = new TreeMap<>(variables());
        effective.putAll(flags());
        return effective;
    }

    /** The soft limit of open files etcd runs with ("unlimited" or a number). */
    String maxOpenFiles() {
        Matcher m = MAX_OPEN_FILES.matcher(limits);
        if (!m.find()) {
            throw new IllegalStateException("no 'Max open files' line in /proc/" + pid + "/limits on " + host + ":\n" + limits);
        }
        return m.group(1);
    }

    /** For failure messages: what etcd was started with. */
    String describe() {
        List<String> etcdVars = new ArrayList<>();
        environ.forEach((k, v) -> {
            if (k.startsWith("ETCD")) {
                etcdVars.add(k + "=" + v);
            }
        });
        return "etcd pid " + pid + " on " + host + ": " + String.join(" ", argv) + "\n  env: " + etcdVars
                + configYaml.map(y -> "\n  config file:\n" + y).orElse("");
    }

    private static Optional<String> configFileOf(List<String> argv, Map<String, String> environ) {
        for (int i = 1; i < argv.size(); i++) {
            String arg = argv.get(i).replaceFirst("^--?", "");
            if (arg.startsWith("config-file=")) {
                return Optional.of(arg.substring("config-file=".length()));
            }
            if (arg.equals("config-file") && i + 1 < argv.size()) {
                return Optional.of(argv.get(i + 1));
            }
        }
        return Optional.ofNullable(environ.get("ETCD_CONFIG_FILE"));
    }

    private static Map<String, String> topLevelYaml(String yaml) {
        Map<String, String> out = new TreeMap<>();
        for (String line : yaml.split("\n")) {
            if (line.isBlank() || line.startsWith("#") || Character.isWhitespace(line.charAt(0))) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String value = line.substring(colon + 1).strip();
            if (value.length() >= 2 && (value.startsWith("'") && value.endsWith("'") || value.startsWith("\"") && value.endsWith("\""))) {
                value = value.substring(1, value.length() - 1);
            }
            out.put(line.substring(0, colon).strip(), value);
        }
        return out;
    }

    /** {@code pid} itself if its command is etcd, else the first etcd among its descendants (down to {@code depth}). */
    private static Optional<Long> findEtcd(TestHost host, long pid, int depth) {
        if (comm(host, pid).equals("etcd")) {
            return Optional.of(pid);
        }
        if (depth == 0) {
            return Optional.empty();
        }
        String children;
        try {
            children = Files.readString(host.livePath("/proc/" + pid + "/task/" + pid + "/children")).strip();
        } catch (IOException e) {
            return Optional.empty();
        }
        for (String child : children.isEmpty() ? new String[0] : children.split("\\s+")) {
            Optional<Long> found = findEtcd(host, Long.parseLong(child), depth - 1);
            if (found.isPresent()) {
                return found;
            }
        }
        return Optional.empty();
    }

    private static String comm(TestHost host, long pid) {
        try {
            return Files.readString(host.livePath("/proc/" + pid + "/comm")).strip();
        } catch (IOException e) {
            return "<gone>";
        }
    }

    /** Through /proc/<host's systemd>/root, which sees the host's own /proc: pids as the host numbers them. */
    private static byte[] read(TestHost host, long pid, String file) {
        Path path = host.livePath("/proc/" + pid + "/" + file);
        try {
            return Files.readAllBytes(path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + " (" + file + " of etcd on " + host.name() + ")", e);
        }
    }

    private static List<String> nulSeparated(byte[] bytes) {
        List<String> parts = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == 0) {
                parts.add(new String(bytes, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        if (start < bytes.length) {
            parts.add(new String(bytes, start, bytes.length - start, StandardCharsets.UTF_8));
        }
        return parts;
    }

    private static String tail(String text, int lines) {
        String[] all = text.split("\n");
        return String.join("\n", List.of(all).subList(Math.max(0, all.length - lines), all.length));
    }
}
