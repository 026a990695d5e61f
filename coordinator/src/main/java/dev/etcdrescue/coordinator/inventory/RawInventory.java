package dev.etcdrescue.coordinator.inventory;

import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.nodes.Node;

/** The inventory's tree as written, before defaults and checks; every piece keeps its YAML node for line numbers. */
final class RawInventory {
    private RawInventory() {}

    /** One variable as written at one level: {@code value} may be a null-scalar (unset). */
    record Setting(String name, Node key, Node value) {}

    /**
     * A host: its own settings and those of every enclosing scope, outer first (all.vars, the
     * groups' vars, then the host's keys), so the nearest is the last that sets a name.
     */
    record Host(String name, Node key, List<Map<String, Setting>> scopes) {}

    /** A group with {@code hosts:}. */
    record Cluster(String name, Node key, List<Host> hosts) {}
}
