package dev.etcdrescue.agent.restore;

import java.util.List;
import java.util.Map;

/** An argv plus the environment variables it needs; never passed through a shell. */
public record CommandLine(List<String> argv, Map<String, String> env) {
    public CommandLine {
        argv = List.copyOf(argv);
        env = Map.copyOf(env);
    }
}
