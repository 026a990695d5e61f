package dev.etcdrescue.agent.config;

import java.nio.file.Path;

/** A bad agent configuration: names the file and the field, so the operator can fix it in one go. */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    public ConfigException(Path file, String field, String problem) {
        super("agent config " + file + ": " + (field.isEmpty() ? "" : "field " + field + ": ") + problem);
    }
}
