package dev.etcdrescue.agent.spec;

import dev.etcdrescue.agent.AgentException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;

/**
 * Decides whether a path from a request may be written: absolute, normalized, free of '..', made of
 * safe characters, and strictly inside one of the configured roots (also after resolving symlinks
 * of the part that already exists, so a link cannot lead outside).
 */
public final class PathRules {
    private final List<Path> roots;
    private final String configKey;

    /** @param configKey the agent config key the roots come from, named in refusals */
    public PathRules(List<Path> roots, String configKey) {
        this.roots = List.copyOf(roots);
        this.configKey = configKey;
    }

    public PathRules(List<Path> roots) {
        this(roots, "allowed_data_roots");
    }

    public List<Path> roots() {
        return roots;
    }

    public Path requireInside(String text, String field) {
        Path path = parse(text, field);
        Path root = roots.stream().filter(r -> path.startsWith(r) && !path.equals(r)).findFirst()
                .orElseThrow(() -> AgentException.invalidField(field, field + " " + text
                        + " is outside the allowed roots " + roots + ": choose a path inside one of them"
                        + " or add its root to " + configKey + " in the agent config"));
        Path existing = nearestExisting(path);
        try {
            Path realRoot = Files.exists(root) ? root.toRealPath() : root;
            if (existing.startsWith(root) && !existing.toRealPath().startsWith(realRoot)) {
                throw AgentException.invalidField(field, field + " " + text + " leads outside " + root
                        + " through a symbolic link at " + existing);
            }
        } catch (IOException e) {
            throw AgentException.failedPrecondition("cannot resolve " + existing + " for " + field + ": " + e.getMessage());
        }
        return path;
    }

    /** Absolute, normalized, safe characters; says which rule was broken. */
    public static Path parse(String text, String field) {
        if (text == null || text.isEmpty()) {
            throw AgentException.invalidField(field, field + " is required (an absolute path)");
        }
        if (!Grammar.SAFE_PATH.matcher(text).matches()) {
            throw AgentException.invalidField(field, field + " must be an absolute path of [A-Za-z0-9._/+@:-], got "
                    + Grammar.quote(text));
        }
        for (String segment : text.split("/")) {
            if (segment.equals("..") || segment.equals(".")) {
                throw AgentException.invalidField(field, field + " must not contain '" + segment + "' segments, got "
                        + Grammar.quote(text));
            }
        }
        Path path;
        try {
            path = Path.of(text);
        } catch (InvalidPathException e) {
            throw AgentException.invalidField(field, field + " is not a path: " + Grammar.quote(text));
        }
        if (!path.isAbsolute() || !path.normalize().equals(path) || text.contains("//") || (text.length() > 1 && text.endsWith("/"))) {
            throw AgentException.invalidField(field, field + " must be a normalized absolute path, got " + Grammar.quote(text));
        }
        return path;
    }

    private static Path nearestExisting(Path path) {
        Path current = path;
        while (current != null && !Files.exists(current)) {
            current = current.getParent();
        }
        return current == null ? Path.of("/") : current;
    }
}
