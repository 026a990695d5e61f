package dev.etcdrescue.coordinator.inventory;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;

/** Where the data of the restored cluster comes from: old members that still answer, or a file. */
public sealed interface SnapshotSource permits SnapshotSource.Endpoints, SnapshotSource.File, SnapshotSource.Backup {
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

    /**
     * {@code recover --from-backup}: copies of a backup the cluster's agents hold, in the order to try them. The snapshot
     * phase has the first holder that reads its copy back stage it and send it to the other agents (decision 0022);
     * {@code workDir} is where a copy fetched through the coordinator goes when a holder's agent cannot stage it.
     */
    record Backup(String which, List<Copy> inOrder, Path workDir) implements SnapshotSource {
        public Backup {
            inOrder = List.copyOf(inOrder);
        }
    }

    /** One copy of a backup as its holder listed it (the facts of its signed manifest). */
    record Copy(String id, String holder, String snapshotSha256, long snapshotSize, long revision, String takenAt, String takenBy,
                String copyFrom, String etcdVersion, String location) {
        /** A copy on the holder's disk. */
        public Copy(String id, String holder, String snapshotSha256, long snapshotSize, long revision, String takenAt, String takenBy,
                    String copyFrom, String etcdVersion) {
            this(id, holder, snapshotSha256, snapshotSize, revision, takenAt, takenBy, copyFrom, etcdVersion, "");
        }

        /** True for the copy in object storage that {@code holder}'s agent reaches (backup.s3). */
        public boolean inObjectStore() {
            return !location.isEmpty();
        }

        /** "ID on HOST", "ID (copy from TAKER) on HOST", or "ID in s3://bucket/prefix (through HOST's agent)". */
        public String describe() {
            return inObjectStore() ? id + " in " + location + " (through " + holder + "'s agent)"
                    : id + (copyFrom.isEmpty() ? "" : " (copy from " + copyFrom + ")") + " on " + holder;
        }
    }
}
