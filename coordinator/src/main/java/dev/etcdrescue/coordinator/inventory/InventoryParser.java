package dev.etcdrescue.coordinator.inventory;

import dev.etcdrescue.coordinator.inventory.RawInventory.Cluster;
import dev.etcdrescue.coordinator.inventory.RawInventory.Host;
import dev.etcdrescue.coordinator.inventory.RawInventory.Setting;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Walks the composed YAML node tree (not a plain Map, so every problem can name its line) into
 * {@link RawInventory} pieces: groups nest under {@code children:}, every group with {@code hosts:}
 * is a cluster, and each host carries the chain of variable scopes that enclose it.
 */
final class InventoryParser {
    private static final String VARS = "vars";
    private static final String CHILDREN = "children";
    private static final String HOSTS = "hosts";
    private static final String GROUP_KEYS = "vars, children, hosts";

    private final Problems problems;
    private final List<Cluster> clusters = new ArrayList<>();
    private final Map<String, Node> clusterKeys = new HashMap<>();
    private final Map<String, Cluster> hostClusters = new HashMap<>();
    private final Map<String, Node> hostKeys = new HashMap<>();

    InventoryParser(Problems problems) {
        this.problems = problems;
    }

    List<Cluster> parse(Node root) {
        if (!(root instanceof MappingNode mapping)) {
            problems.add(root, null, null, null, "an inventory is a YAML mapping that starts with 'all:'");
            return clusters;
        }
        Map<String, NodeTuple> top = entries(mapping, "the top level");
        top.forEach((key, tuple) -> {
            if (!key.equals("all")) {
                problems.add(tuple.getKeyNode(), null, null, null, "unknown top-level key '" + key
                        + "': an inventory starts with 'all:'; put groups under all.children");
            }
        });
        NodeTuple all = top.get("all");
        if (all == null) {
            problems.add(root, null, null, null, "no 'all:' at the top: an inventory starts with 'all:'");
            return clusters;
        }
        group("all", all.getKeyNode(), all.getValueNode(), List.of());
        if (clusters.isEmpty() && problems.isEmpty()) {
            problems.add(all.getKeyNode(), null, null, null,
                    "no cluster: add a group with 'hosts:' under all.children (every group with hosts is one cluster)");
        }
        return clusters;
    }

    private void group(String name, Node key, Node value, List<Map<String, Setting>> enclosing) {
        if (isNull(value)) {
            return;
        }
        if (!(value instanceof MappingNode mapping)) {
            problems.add(value, null, null, "group " + name, "must be a mapping with " + GROUP_KEYS + ", not " + kind(value));
            return;
        }
        Map<String, NodeTuple> keys = entries(mapping, "group " + name);
        keys.forEach((k, tuple) -> {
            if (!k.equals(VARS) && !k.equals(CHILDREN) && !k.equals(HOSTS)) {
                problems.add(tuple.getKeyNode(), null, null, "group " + name, "unknown key '" + k + "'; a group holds "
                        + GROUP_KEYS + " (variables go under vars:)");
            }
        });
        List<Map<String, Setting>> scopes = new ArrayList<>(enclosing);
        if (keys.containsKey(VARS)) {
            scopes.add(settings(keys.get(VARS).getValueNode(), null, null, name.equals("all") ? "all.vars" : "vars of group " + name));
        }
        if (keys.containsKey(HOSTS)) {
            cluster(name, key, keys.get(HOSTS), List.copyOf(scopes));
        }
        if (keys.containsKey(CHILDREN)) {
            Node children = keys.get(CHILDREN).getValueNode();
            if (children instanceof MappingNode childMap) {
                entries(childMap, "children of group " + name).forEach(
                        (childName, tuple) -> group(childName, tuple.getKeyNode(), tuple.getValueNode(), List.copyOf(scopes)));
            } else if (!isNull(children)) {
                problems.add(children, null, null, "children of group " + name, "must be a mapping of group names, not " + kind(children));
            }
        }
    }

    private void cluster(String name, Node key, NodeTuple hostsTuple, List<Map<String, Setting>> scopes) {
        Node previous = clusterKeys.putIfAbsent(name, key);
        if (previous != null) {
            problems.add(key, name, null, null, "a second group named '" + name + "' with hosts (the first is at "
                    + problems.where(previous) + "): every group with hosts is one cluster, so names must be unique");
            return;
        }
        Node hostsNode = hostsTuple.getValueNode();
        List<Host> hosts = new ArrayList<>();
        Cluster cluster = new Cluster(name, key, hosts);
        boolean empty = true;
        if (hostsNode instanceof MappingNode hostMap) {
            empty = hostMap.getValue().isEmpty();
            entries(hostMap, "hosts of cluster " + name).forEach((hostName, tuple) -> {
                Cluster other = hostClusters.putIfAbsent(hostName, cluster);
                if (other != null) {
                    problems.add(tuple.getKeyNode(), name, hostName, null, "is also a host of cluster " + other.name()
                            + " (" + problems.where(hostKeys.get(hostName)) + "): a host belongs to one cluster only");
                    return;
                }
                hostKeys.put(hostName, tuple.getKeyNode());
                List<Map<String, Setting>> hostScopes = new ArrayList<>(scopes);
                hostScopes.add(settings(tuple.getValueNode(), name, hostName, null));
                hosts.add(new Host(hostName, tuple.getKeyNode(), List.copyOf(hostScopes)));
            });
        } else if (!isNull(hostsNode)) {
            problems.add(hostsNode, name, null, HOSTS, "must be a mapping of host names to their variables, not " + kind(hostsNode));
        }
        if (empty && (isNull(hostsNode) || hostsNode instanceof MappingNode)) {
            problems.add(hostsTuple.getKeyNode(), name, null, HOSTS, "the cluster has no hosts: add its hosts or remove 'hosts:'");
        }
        clusters.add(cluster);
    }

    /** The variables of one scope; unknown names are reported here, once, where they are written. */
    private Map<String, Setting> settings(Node node, String cluster, String host, String scope) {
        Map<String, Setting> settings = new LinkedHashMap<>();
        if (isNull(node)) {
            return settings;
        }
        if (!(node instanceof MappingNode mapping)) {
            problems.add(node, cluster, host, scope, "must be a mapping of variables, not " + kind(node));
            return settings;
        }
        entries(mapping, scope == null ? "host " + host : scope).forEach((name, tuple) -> {
            if (Variables.isKnown(name)) {
                settings.put(name, new Setting(name, tuple.getKeyNode(), tuple.getValueNode()));
            } else {
                String field = scope == null ? name : scope + ", " + name;
                problems.add(tuple.getKeyNode(), cluster, host, field, "unknown variable '" + name + "'"
                        + Variables.closest(name).map(known -> " (did you mean '" + known + "'?)").orElse("")
                        + "; allowed: " + String.join(", ", Variables.ALL));
            }
        });
        return settings;
    }

    /** The entries of a mapping by their scalar keys; duplicate and non-scalar keys are reported. */
    private Map<String, NodeTuple> entries(MappingNode mapping, String where) {
        Map<String, NodeTuple> entries = new LinkedHashMap<>();
        for (NodeTuple tuple : mapping.getValue()) {
            Node keyNode = tuple.getKeyNode();
            if (!(keyNode instanceof ScalarNode scalar) || isNull(keyNode)) {
                problems.add(keyNode, null, null, where, "keys must be plain names, not " + kind(keyNode));
                continue;
            }
            NodeTuple previous = entries.putIfAbsent(scalar.getValue(), tuple);
            if (previous != null) {
                problems.add(keyNode, null, null, where, "'" + scalar.getValue() + "' appears twice (also at "
                        + problems.where(previous.getKeyNode()) + "); keep one");
            }
        }
        return entries;
    }

    static boolean isNull(Node node) {
        return node == null || (node instanceof ScalarNode && node.getTag().equals(Tag.NULL));
    }

    static String kind(Node node) {
        return switch (node.getNodeId()) {
            case scalar -> "a single value";
            case sequence -> "a list";
            case mapping -> "a mapping";
            case anchor -> "an anchor";
        };
    }
}
