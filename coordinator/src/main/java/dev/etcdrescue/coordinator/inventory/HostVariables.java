package dev.etcdrescue.coordinator.inventory;

import dev.etcdrescue.coordinator.inventory.RawInventory.Host;
import dev.etcdrescue.coordinator.inventory.RawInventory.Setting;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * The variables of one host with Ansible precedence (the nearest scope wins), read as typed values.
 * A type error is reported and the variable then counts as absent, so checking goes on.
 * A value of YAML null ({@code wal_dir:} with nothing after it) means "not set here": the default applies.
 */
final class HostVariables {
    /** A value and the node it came from, for messages. */
    record Located<T>(T value, Node node) {}

    private final String cluster;
    private final Host host;
    private final Problems problems;

    HostVariables(String cluster, Host host, Problems problems) {
        this.cluster = cluster;
        this.host = host;
        this.problems = problems;
    }

    String hostName() {
        return host.name();
    }

    Node hostKey() {
        return host.key();
    }

    /** The nearest setting of {@code name}, if any scope sets it to a non-null value. */
    Optional<Setting> setting(String name) {
        List<Map<String, Setting>> scopes = host.scopes();
        for (int i = scopes.size() - 1; i >= 0; i--) {
            Setting setting = scopes.get(i).get(name);
            if (setting != null) {
                return InventoryParser.isNull(setting.value()) ? Optional.empty() : Optional.of(setting);
            }
        }
        return Optional.empty();
    }

    /** Where {@code name} is set, or the host's own key when it comes from a default. */
    Node lineOf(String name) {
        return setting(name).map(Setting::key).orElse(host.key());
    }

    /** {@code file:line} where {@code name} is set, for messages that point at another line. */
    String lineOfText(String name) {
        return problems.where(lineOf(name));
    }

    Optional<Located<String>> string(String name) {
        Optional<Setting> setting = setting(name);
        if (setting.isEmpty()) {
            return Optional.empty();
        }
        Node value = setting.get().value();
        if (value instanceof ScalarNode scalar) {
            return Optional.of(new Located<>(scalar.getValue(), setting.get().key()));
        }
        problem(setting.get().key(), name, "must be a single value, not " + InventoryParser.kind(value));
        return Optional.empty();
    }

    Optional<Located<Integer>> integer(String name) {
        Optional<Setting> setting = setting(name);
        if (setting.isEmpty()) {
            return Optional.empty();
        }
        Node value = setting.get().value();
        if (value instanceof ScalarNode scalar && scalar.getValue().matches("[0-9]{1,9}")) {
            return Optional.of(new Located<>(Integer.parseInt(scalar.getValue()), setting.get().key()));
        }
        String shown = value instanceof ScalarNode scalar ? "'" + scalar.getValue() + "'" : InventoryParser.kind(value);
        problem(setting.get().key(), name, "must be a whole number, not " + shown);
        return Optional.empty();
    }

    /** A list of single values; each element keeps its own node, for the line of its message. */
    Optional<Located<List<Located<String>>>> list(String name) {
        Optional<Setting> setting = setting(name);
        if (setting.isEmpty()) {
            return Optional.empty();
        }
        Node value = setting.get().value();
        if (!(value instanceof SequenceNode sequence)) {
            String shown = value instanceof ScalarNode scalar ? "the single value '" + scalar.getValue() + "'" : InventoryParser.kind(value);
            problem(setting.get().key(), name, "must be a list (one '- item' per line, or [a, b]), not " + shown);
            return Optional.empty();
        }
        List<Located<String>> items = new ArrayList<>();
        boolean ok = true;
        for (Node item : sequence.getValue()) {
            if (item instanceof ScalarNode scalar && !InventoryParser.isNull(item)) {
                items.add(new Located<>(scalar.getValue(), item));
            } else {
                problem(item, name, "list items must be single values, not " + InventoryParser.kind(item));
                ok = false;
            }
        }
        if (items.isEmpty() && ok) {
            problem(setting.get().key(), name, "is an empty list: give at least one item or remove it to use the default");
            return Optional.empty();
        }
        return ok ? Optional.of(new Located<>(items, setting.get().key())) : Optional.empty();
    }

    /** A mapping of names to values (scalars or lists); entries keep their key nodes, for the line of a message. */
    Optional<Located<List<RawInventory.Setting>>> mapping(String name) {
        Optional<Setting> setting = setting(name);
        if (setting.isEmpty()) {
            return Optional.empty();
        }
        Node value = setting.get().value();
        if (!(value instanceof org.yaml.snakeyaml.nodes.MappingNode mapping)) {
            String shown = value instanceof ScalarNode scalar ? "the single value '" + scalar.getValue() + "'" : InventoryParser.kind(value);
            problem(setting.get().key(), name, "must be a mapping (one 'name: value' per line), not " + shown);
            return Optional.empty();
        }
        List<Setting> entries = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (org.yaml.snakeyaml.nodes.NodeTuple tuple : mapping.getValue()) {
            if (!(tuple.getKeyNode() instanceof ScalarNode key) || InventoryParser.isNull(key)) {
                problem(tuple.getKeyNode(), name, "keys must be plain names, not " + InventoryParser.kind(tuple.getKeyNode()));
                continue;
            }
            if (!seen.add(key.getValue())) {
                problem(key, name, "'" + key.getValue() + "' appears twice; keep one");
                continue;
            }
            entries.add(new Setting(key.getValue(), key, tuple.getValueNode()));
        }
        return Optional.of(new Located<>(entries, setting.get().key()));
    }

    void problem(Node at, String field, String message) {
        problems.add(at, cluster, host.name(), field, message);
    }
}
