package dev.etcdrescue.coordinator.cli;

import static dev.etcdrescue.coordinator.cli.SnapshotCommand.*;

import dev.etcdrescue.coordinator.IoErrors;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.snapshotformat.bolt.BoltSnapshot;
import dev.etcdrescue.snapshotformat.bolt.NotASnapshotException;
import dev.etcdrescue.snapshotformat.bolt.SnapshotInfo;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "status", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Checks a snapshot file and prints its facts.",
        description = {
            "Checks that FILE is an intact etcd bbolt database (magic, version, meta checksums, not truncated,",
            "every page accounted for) and prints its size, SHA-256, revision, total keys, total size and",
            "etcd hash (the same numbers as 'etcdctl snapshot status'), and etcd's SHA-256 trailer:",
            "  valid     a snapshot exactly as etcd wrote it",
            "  absent    a raw member/snap/db (restore it with --skip-hash-check / --allow-no-hash-trailer)",
            "  mismatch  the file changed after etcd wrote it: do not restore from it (exit 2)",
            ""
        },
        footer = {
            "",
            "Examples:",
            "  etcd-rescue snapshot status backup.db",
            "  etcd-rescue snapshot status /var/lib/etcd/member/snap/db -w json",
            "",
            "Exit codes: 0 an intact snapshot or database, 2 not a snapshot, corrupt, or missing."
        })
final class SnapshotStatus implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "A snapshot, or a member's db file.")
    Path file;

    @Option(names = {"-o", "--output", "-w", "--write-out"}, defaultValue = "table", paramLabel = "FORMAT",
            description = "Output format: table (default) or json (one object).")
    OutputFormat writeOut;

    @Override
    public Integer call() throws IOException {
        if (!Files.isRegularFile(file)) {
            throw usage(Files.exists(file) ? file + " is not a regular file" : "no such file: " + file);
        }
        SnapshotInfo info;
        SnapshotFile checked;
        try {
            info = BoltSnapshot.read(file);
            checked = SnapshotFile.inspect(file);
        } catch (NotASnapshotException e) {
            throw usage(e.getMessage());
        } catch (NoSuchFileException e) {
            throw usage("no such file: " + file);
        } catch (IOException e) {
            throw usage("cannot read " + file + ": " + IoErrors.describe(e));
        }
        Facts facts = new Facts(checked, info);
        print(spec.commandLine().getOut(), writeOut, "file", facts, Map.of());
        if (checked.trailer() == SnapshotDigest.Trailer.MISMATCH) {
            throw usage(file + ": SHA-256 trailer mismatch: the file changed after etcd wrote it; do not restore from it");
        }
        return ExitCodes.OK;
    }
}
