package dev.etcdrescue.coordinator.inventory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** A loaded, validated inventory: the clusters to restore, in file order. */
public record Inventory(Path source, List<ClusterPlan> clusters) {
    public Inventory {
        clusters = List.copyOf(clusters);
    }

    /**
     * The clusters named by {@code spec} (comma-separated cluster or host names, as Ansible's
     * {@code --limit}). A host name selects its whole cluster: a restore always rebuilds every
     * member together, since each needs the full initial cluster. Unknown names are an error.
     */
    public Inventory limit(String spec) {
        Set<String> wanted = new LinkedHashSet<>();
        for (String part : spec.split(",")) {
            if (!part.isBlank()) {
                wanted.add(part.strip());
            }
        }
        if (wanted.isEmpty()) {
            throw new InventoryException("--limit '" + spec + "' names no cluster or host", List.of());
        }
        Set<String> matched = new LinkedHashSet<>();
        List<ClusterPlan> selected = new ArrayList<>();
        for (ClusterPlan cluster : clusters) {
            boolean take = wanted.contains(cluster.name()) && matched.add(cluster.name());
            for (MemberPlan member : cluster.members()) {
                if (wanted.contains(member.hostName())) {
                    matched.add(member.hostName());
                    take = true;
                }
            }
            if (take) {
                selected.add(cluster);
            }
        }
        List<String> unknown = wanted.stream().filter(name -> !matched.contains(name)).toList();
        if (!unknown.isEmpty()) {
            List<String> problems = new ArrayList<>();
            for (String name : unknown) {
                problems.add("'" + name + "' is neither a cluster nor a host of " + source
                        + " (clusters: " + String.join(", ", clusters.stream().map(ClusterPlan::name).toList()) + ")");
            }
            throw new InventoryException("--limit " + spec + " names what the inventory does not have", problems);
        }
        return new Inventory(source, selected);
    }

    /** The cluster of the given name, if any. */
    public java.util.Optional<ClusterPlan> cluster(String name) {
        return clusters.stream().filter(c -> c.name().equals(name)).findFirst();
    }
}
