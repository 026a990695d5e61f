package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.inventory.Inventory;
import dev.etcdrescue.coordinator.inventory.InventoryLoader;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options every inventory-driven command shares. */
final class InventoryOptions {
    @Option(names = {"-i", "--inventory"}, required = true, paramLabel = "FILE",
            description = "Ansible-style YAML inventory (see deploy/examples/inventory.yaml).")
    Path inventory;

    @Option(names = "--limit", paramLabel = "NAMES",
            description = "Only these clusters (or the clusters of these hosts), comma-separated, like ansible --limit.")
    String limit;

    @Option(names = {"-o", "--output", "-w", "--write-out"}, defaultValue = "table", paramLabel = "FORMAT",
            description = "Output format: table (default; lines as it goes and a recap) or json (one document on stdout, progress on stderr). "
                    + "-o/--output as kubectl names it, -w/--write-out as etcdctl does.")
    OutputFormat writeOut;

    enum OutputFormat { table, json }

    Inventory load() {
        Inventory inv = InventoryLoader.load(inventory);
        return limit == null ? inv : inv.limit(limit);
    }
}
