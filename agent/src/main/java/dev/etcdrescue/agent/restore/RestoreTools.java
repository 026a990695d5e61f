package dev.etcdrescue.agent.restore;

import dev.etcdrescue.agent.io.ProcessResult;
import dev.etcdrescue.agent.io.ProcessRunner;
import dev.etcdrescue.proto.v1.RestoreTool;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds etcdutl (preferred: it owns offline restore since 3.5) or else etcdctl in the configured
 * tool dirs, and reads what the found binary can do from its own help text, never from its version
 * (backports make version checks wrong, e.g. --bump-revision in late 3.4 releases).
 */
public final class RestoreTools {
    private static final Logger log = LoggerFactory.getLogger(RestoreTools.class);
    private static final Pattern VERSION = Pattern.compile("(\\d+\\.\\d+\\.\\d+[0-9A-Za-z.+-]*)");

    private final List<Path> toolDirs;
    private final ProcessRunner runner;
    private final Duration timeout;
    private final ToolTrust trust;
    /** Binaries passed over because they may not be run, with why: logged once, named in "not found" messages. */
    private final Map<Path, String> refused = new ConcurrentHashMap<>();

    public RestoreTools(List<Path> toolDirs, ProcessRunner runner, Duration timeout) {
        this(toolDirs, runner, timeout, ToolTrust.forThisProcess());
    }

    RestoreTools(List<Path> toolDirs, ProcessRunner runner, Duration timeout, ToolTrust trust) {
        this.trust = trust;
        this.toolDirs = List.copyOf(toolDirs);
        this.runner = runner;
        this.timeout = timeout;
    }

    public Optional<DetectedTool> detect() {
        Optional<Path> etcdutl = find("etcdutl");
        if (etcdutl.isPresent()) {
            return Optional.of(describe(RestoreTool.ETCDUTL, etcdutl.get()));
        }
        return find("etcdctl").map(path -> describe(RestoreTool.ETCDCTL, path));
    }

    /** The etcd server's version, or empty when no etcd binary is in the tool dirs. */
    public Optional<String> etcdVersion() {
        return find("etcd").map(path -> version(path, RestoreTool.RESTORE_TOOL_UNSPECIFIED));
    }

    public Optional<Path> find(String binary) {
        return toolDirs.stream().map(dir -> dir.resolve(binary))
                .filter(p -> Files.isRegularFile(p) && Files.isExecutable(p)).filter(this::trusted).findFirst();
    }

    /** The binaries passed over as unsafe to run, for a "not found" message; empty when none were. */
    public String refusedNote() {
        return refused.isEmpty() ? "" : " (passed over, unsafe to run as root: " + String.join("; ", refused.values()) + ")";
    }

    private boolean trusted(Path tool) {
        Optional<String> why = trust.refusal(tool);
        if (why.isEmpty()) {
            refused.remove(tool);
            return true;
        }
        if (refused.put(tool, why.get()) == null) {
            log.warn("not running {}: {}", tool, why.get());
        }
        return false;
    }

    /**
     * What detect and etcdVersion depend on: each binary's path, size, modification time and inode,
     * or its absence. A package upgrade replaces the file, so any of them changes.
     */
    public List<String> fingerprint() {
        return Stream.of("etcd", "etcdutl", "etcdctl").map(name -> find(name).map(path -> {
            try {
                BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
                return path + " " + a.size() + " " + a.lastModifiedTime().toMillis() + " " + a.fileKey();
            } catch (IOException e) {
                return path + " unreadable";
            }
        }).orElse(name + " absent")).toList();
    }

    public List<Path> toolDirs() {
        return toolDirs;
    }

    private DetectedTool describe(RestoreTool kind, Path path) {
        String help = run(kind, List.of(path.toString(), "snapshot", "restore", "--help"));
        return new DetectedTool(kind, path, version(path, kind),
                help.contains("--bump-revision"), help.contains("--mark-compacted"),
                help.contains("--skip-hash-check"), help.contains("--wal-dir"), help.contains("--data-dir"));
    }

    private String version(Path path, RestoreTool kind) {
        // etcd and etcdutl answer --version; etcdctl 3.4 only knows the "version" subcommand.
        for (List<String> argv : List.of(List.of(path.toString(), "--version"), List.of(path.toString(), "version"))) {
            Matcher m = Pattern.compile("(?im)^\\S*\\s*version:\\s*" + VERSION.pattern()).matcher(run(kind, argv));
            if (m.find()) {
                return m.group(1);
            }
        }
        return "unknown";
    }

    private String run(RestoreTool kind, List<String> argv) {
        Map<String, String> env = kind == RestoreTool.ETCDCTL ? Map.of("ETCDCTL_API", "3") : Map.of();
        try {
            ProcessResult result = runner.run(argv, env, timeout);
            return result.stdout() + "\n" + result.stderr();
        } catch (RuntimeException e) {
            return "";
        }
    }
}
