package dev.etcdrescue.coordinator.inventory;

import java.util.ArrayList;
import java.util.List;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Collects every problem of an inventory so the operator fixes them in one round, each as
 * {@code file:line: cluster C, host H, field: what is wrong and what to do}.
 */
final class Problems {
    private final String file;
    private final List<String> problems = new ArrayList<>();

    Problems(String file) {
        this.file = file;
    }

    String where(Node node) {
        return node == null ? file : file + ":" + line(node);
    }

    static int line(Node node) {
        return node.getStartMark().getLine() + 1;
    }

    void add(Node at, String cluster, String host, String field, String message) {
        List<String> context = new ArrayList<>();
        if (cluster != null) {
            context.add("cluster " + cluster);
        }
        if (host != null) {
            context.add("host " + host);
        }
        if (field != null) {
            context.add(field);
        }
        String prefix = context.isEmpty() ? "" : String.join(", ", context) + ": ";
        problems.add(where(at) + ": " + prefix + message);
    }

    boolean isEmpty() {
        return problems.isEmpty();
    }

    int size() {
        return problems.size();
    }

    List<String> list() {
        return List.copyOf(problems);
    }
}
