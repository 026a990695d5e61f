package dev.etcdrescue.coordinator.inventory;

import dev.etcdrescue.coordinator.IoErrors;
import dev.etcdrescue.coordinator.inventory.RawInventory.Cluster;
import dev.etcdrescue.coordinator.inventory.RawInventory.Host;
import dev.etcdrescue.coordinator.inventory.RawInventory.Setting;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;

/**
 * Reads an Ansible-like inventory (see {@code deploy/examples/inventory.yaml}) into {@link Inventory}.
 * Everything is checked before anything is returned, and all problems are reported together.
 */
public final class InventoryLoader {
    private InventoryLoader() {}

    /** The validated inventory; {@link InventoryException} lists every problem, each with its file and line. */
    public static Inventory load(Path file) {
        String name = file.toString();
        Node root;
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            LoaderOptions options = new LoaderOptions();
            options.setAllowDuplicateKeys(false);
            root = new Yaml(options).compose(reader);
        } catch (MarkedYAMLException e) {
            int line = e.getProblemMark() == null ? 0 : e.getProblemMark().getLine() + 1;
            throw new InventoryException("cannot read inventory " + name, List.of(name + ":" + line + ": not valid YAML: "
                    + e.getProblem() + (e.getContext() == null ? "" : " (" + e.getContext() + ")")));
        } catch (YAMLException e) {
            if (e.getCause() instanceof IOException readFailed) {
                throw unreadable(name, readFailed);
            }
            throw new InventoryException("cannot read inventory " + name, List.of(name + ": not valid YAML: " + e.getMessage()));
        } catch (IOException e) {
            throw unreadable(name, e);
        }
        if (root == null) {
            throw new InventoryException("inventory " + name + " is empty", List.of(name + ":1: an inventory starts with 'all:'"));
        }
        Problems problems = new Problems(name);
        List<Cluster> raw = new InventoryParser(problems).parse(root);
        Path baseDir = file.toAbsolutePath().getParent();
        Map<String, String> owners = addressOwners(raw);
        List<ClusterPlan> clusters = new ArrayList<>();
        for (Cluster cluster : raw) {
            new ClusterResolver(cluster, baseDir, problems, owners).resolve().ifPresent(clusters::add);
        }
        if (!problems.isEmpty()) {
            throw new InventoryException("inventory " + name + " has " + problems.size()
                    + (problems.size() == 1 ? " problem" : " problems"), problems.list());
        }
        return new Inventory(file, clusters);
    }

    /** Canonical address to host name, for every host whose own address is written as a plain value. */
    private static Map<String, String> addressOwners(List<Cluster> clusters) {
        Map<String, String> owners = new HashMap<>();
        for (Cluster cluster : clusters) {
            for (Host host : cluster.hosts()) {
                List<Map<String, Setting>> scopes = host.scopes();
                Setting own = scopes.get(scopes.size() - 1).get(Variables.ADDRESS);
                if (own != null && own.value() instanceof ScalarNode scalar && !InventoryParser.isNull(scalar)) {
                    owners.putIfAbsent(Addresses.canonical(scalar.getValue().strip()), host.name());
                }
            }
        }
        return owners;
    }

    private static InventoryException unreadable(String name, IOException e) {
        return new InventoryException("cannot read inventory " + name + ": " + IoErrors.describe(e) + " (the file given with -i)",
                List.of());
    }
}
