package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.backup.BackupFetch;
import dev.etcdrescue.coordinator.inventory.SnapshotSource;
import dev.etcdrescue.coordinator.IoErrors;
import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.engine.Journal;
import dev.etcdrescue.coordinator.engine.Recovery;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.Inventory;
import dev.etcdrescue.coordinator.inventory.InventoryLoader;
import dev.etcdrescue.coordinator.report.JsonReporter;
import dev.etcdrescue.coordinator.report.Reporter;
import dev.etcdrescue.coordinator.report.TextReporter;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;

/** What recover, resume and rollback share: the work dirs, the journal's inventory, reporters. */
final class Runs {
    private Runs() {}

    static Path defaultWorkRoot() {
        String state = System.getenv("XDG_STATE_HOME");
        Path base = state != null && !state.isBlank() ? Path.of(state) : Path.of(System.getProperty("user.home"), ".local", "state");
        return base.resolve("etcd-rescue").resolve("runs");
    }

    static Reporter reporter(InventoryOptions.OutputFormat format) {
        return format == InventoryOptions.OutputFormat.json
                ? new JsonReporter(System.out, System.err)
                : new TextReporter(System.out, System.console() != null);
    }

    static Recovery recovery(ClusterPlan plan) {
        return new Recovery(AgentChannels.fromDir(plan.tlsDir()), new EtcdClients(Duration.ofSeconds(5), plan.etcdAccess()), ExitCodes::of);
    }

    static String sha256(Path file) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (IOException e) {
            throw new UserException(FailureKind.BAD_INPUT, "cannot read " + file + ": " + IoErrors.describe(e));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The cluster a journal was written for, from the same inventory file, refused if the file changed since. */
    static ClusterPlan planOf(Journal journal, Path workDir) {
        Journal.Header h = journal.header();
        Path inventory = Path.of(h.inventory());
        if (!Files.isRegularFile(inventory)) {
            throw new UserException(FailureKind.BAD_INPUT, "the run in " + workDir + " used the inventory " + inventory + ", which is gone");
        }
        if (!sha256(inventory).equals(h.inventorySha256())) {
            throw new UserException(FailureKind.BAD_INPUT, "the inventory " + inventory + " changed since the run in " + workDir
                    + " started: a resumed or rolled-back run must act on the plan it began with. Restore the file, or start a new recover");
        }
        Inventory inv = InventoryLoader.load(inventory);
        ClusterPlan plan = inv.cluster(h.cluster()).orElseThrow(() -> new UserException(FailureKind.BAD_INPUT,
                "cluster " + h.cluster() + " is no longer in " + inventory));
        java.util.Optional<Path> fetched = fetchedBackup(workDir);
        if (fetched.isPresent()) {
            return plan.withSnapshot(new SnapshotSource.File(fetched.get(), true));
        }
        try {
            return BackupFetch.chosen(workDir).<ClusterPlan>map(plan::withSnapshot).orElse(plan);
        } catch (IOException e) {
            throw new UserException(FailureKind.BAD_INPUT, "cannot read " + workDir.resolve(BackupFetch.CHOICE) + ": " + e.getMessage());
        }
    }

    /** The backup a {@code recover --from-backup} fetched into this work dir: the run resumes from it, not the inventory's source. */
    private static java.util.Optional<Path> fetchedBackup(Path workDir) {
        try (java.util.stream.Stream<Path> files = Files.list(workDir)) {
            java.util.List<Path> found = files.filter(f -> f.getFileName().toString().startsWith(BackupFetch.PREFIX)
                    && f.getFileName().toString().endsWith(".db")).toList();
            return found.size() == 1 ? java.util.Optional.of(found.get(0)) : java.util.Optional.empty();
        } catch (java.io.IOException e) {
            return java.util.Optional.empty();
        }
    }

    static void requireDir(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new UserException(FailureKind.BAD_INPUT, dir + " is not a run's work dir: give the dir 'etcd-rescue recover' printed");
        }
    }

    static UncheckedIOException io(IOException e) {
        return new UncheckedIOException(e);
    }
}
