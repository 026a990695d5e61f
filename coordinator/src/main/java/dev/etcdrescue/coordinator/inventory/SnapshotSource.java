package dev.etcdrescue.coordinator.inventory;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;

/** Where the data of the restored cluster comes from: old members that still answer, or a file. */
public sealed interface SnapshotSource permits SnapshotSource.Endpoints, SnapshotSource.File {
    /** Client URLs of old members; the coordinator snapshots the best one that answers. */
    record Endpoints(List<URI> endpoints) implements SnapshotSource {
        public Endpoints {
            endpoints = List.copyOf(endpoints);
        }
    }

    /**
     * A snapshot (or a member's {@code db}) on the coordinator's machine, absolute. {@code runOwned}: the run put it
     * there (a backup fetched into its work dir), so it goes when the run's own snapshot would; the operator's file
     * ({@code snapshot_file}) is never touched.
     */
    record File(Path path, boolean runOwned) implements SnapshotSource {
        public File(Path path) {
            this(path, false);
        }
    }
}
