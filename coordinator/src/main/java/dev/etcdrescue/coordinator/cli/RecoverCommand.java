package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.engine.Journal;
import dev.etcdrescue.coordinator.engine.Recovery;
import dev.etcdrescue.coordinator.engine.RecoveryOptions;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.Inventory;
import dev.etcdrescue.coordinator.report.RecoveryReport;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "recover", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Recovers each cluster of the inventory from a survivor or a backup, on every host at once:",
            "  preflight   reach every agent over mTLS, claim it, check tools, disk, ports, versions, the source",
            "  snapshot    jetcd snapshot of the best surviving member (or the given file); SHA-256 trailer checked",
            "  distribute  stream it to every agent; each verifies SHA-256 and fsyncs before keeping it",
            "  restore     etcdutl (or etcdctl) snapshot restore with the full initial cluster",
            "  configure   new env file and unit (copied from the old unit); replaced files are moved aside",
            "  start       daemon-reload, start the new unit on all hosts together, wait until active",
            "  configure   (new members serve clients only on --fence-port until verify passes)",
            "  verify      member list equals the plan, health, one leader, no alarm, revision, hashkv",
            "  release     each member moves to its planned client URLs, one at a time; member list checked again",
            "  cut-over    enable the new unit, stop and disable the old one (skipped with --keep-old)"},
        footer = {"", "Examples:",
            "  etcd-rescue recover -i inventory.yaml",
            "  etcd-rescue recover -i inventory.yaml --limit lv-etcd-research-beta --keep-old -w json",
            "",
            "A run's work dir (printed first) holds its journal: 'etcd-rescue resume DIR' continues a run that was",
            "interrupted, 'etcd-rescue rollback DIR' undoes it on every host.",
            "",
            "Exit codes: 0 recovered and verified, 1 a phase failed, 2 bad input, 3 refused before any host was changed,",
            "4 verify failed, 70 internal error."})
public final class RecoverCommand implements Callable<Integer> {
    @Mixin InventoryOptions inv;

    @Option(names = "--keep-old", description = "Leave the old unit running and enabled (side-by-side, as the seed's experiment).")
    boolean keepOld;

    @Option(names = "--allow-no-hash-trailer",
            description = "Accept a snapshot without etcd's SHA-256 trailer (a raw member/snap/db copied from a dead member).")
    boolean allowNoHashTrailer;

    @Option(names = "--force-with-leader",
            description = "Restore even though an old member still sees a leader (its cluster may still have quorum).")
    boolean forceWithLeader;

    @Option(names = "--bump-revision", defaultValue = "auto", paramLabel = "N|auto",
            description = "Add N to every revision (with --mark-compacted) so watchers never see revisions go backwards; "
                    + "auto (default): 1000000000 where every host's restore tool supports it (etcdutl 3.5+), else none; 0: off.")
    String bumpRevision;

    @Option(names = "--fence-port", defaultValue = "32379", paramLabel = "PORT",
            description = "Restored members serve clients only on this port of their own address until verify passes, "
                    + "then move to their planned client URLs one at a time (default ${DEFAULT-VALUE}; 0: no fence).")
    int fencePort;

    @Option(names = {"-y", "--yes"},
            description = "If restore, configure or start fails, roll every host back at once without asking.")
    boolean yes;

    @Option(names = "--work-dir", paramLabel = "DIR",
            description = "Where the snapshot and report.json of this run are kept (default: ~/.local/state/etcd-rescue/runs/<operation id>).")
    Path workDir;

    @Option(names = "--chunk-size", defaultValue = "1048576", paramLabel = "BYTES",
            description = "Transfer chunk size (default ${DEFAULT-VALUE}; at most 4 MiB).")
    int chunkSize;

    @Option(names = "--start-timeout", defaultValue = "120", paramLabel = "SECONDS",
            description = "How long the new members get to become active (default ${DEFAULT-VALUE}).")
    long startTimeoutSeconds;

    @Option(names = "--verify-timeout", defaultValue = "120", paramLabel = "SECONDS",
            description = "How long verify waits for every member to be healthy (default ${DEFAULT-VALUE}).")
    long verifyTimeoutSeconds;

    @Override
    public Integer call() {
        if (chunkSize < 1024 || chunkSize > (4 << 20)) {
            throw new dev.etcdrescue.coordinator.UserException(ExitCodes.USAGE, "--chunk-size must be between 1024 and 4194304 bytes");
        }
        long bump = parseBump(bumpRevision);
        if (fencePort < 0 || fencePort > 65535) {
            throw new dev.etcdrescue.coordinator.UserException(ExitCodes.USAGE, "--fence-port must be 0 (no fence) or a port number");
        }
        Inventory inventory = inv.load();
        String inventorySha = Runs.sha256(inventory.source());
        int exit = ExitCodes.OK;
        for (ClusterPlan plan : inventory.clusters()) {
            String op = Recovery.newOperationId();
            Path dir = (workDir != null ? workDir : Runs.defaultWorkRoot()).resolve(op).toAbsolutePath();
            RecoveryOptions options = options(dir, bump, keepOld, allowNoHashTrailer, forceWithLeader, fencePort, yes, chunkSize,
                    startTimeoutSeconds, verifyTimeoutSeconds);
            Journal journal = Journal.create(dir, new Journal.Header(op, plan.name(), inventory.source().toAbsolutePath().toString(),
                    inventorySha, keepOld, allowNoHashTrailer, forceWithLeader, chunkSize, bump, fencePort, yes));
            RecoveryReport report = Runs.recovery(plan).run(plan, options, journal, Runs.reporter(inv.writeOut));
            if (!report.success()) {
                exit = report.exitCode();
                break;
            }
        }
        return exit;
    }

    static RecoveryOptions options(Path dir, long bump, boolean keepOld, boolean allowNoHashTrailer, boolean forceWithLeader,
                                   int fencePort, boolean yes, int chunkSize, long startTimeoutSeconds, long verifyTimeoutSeconds) {
        return new RecoveryOptions(dir, keepOld, allowNoHashTrailer, forceWithLeader, bump, fencePort, yes, chunkSize,
                Duration.ofMinutes(2), Duration.ofSeconds(startTimeoutSeconds), Duration.ofSeconds(verifyTimeoutSeconds));
    }

    static long parseBump(String value) {
        if (value.equalsIgnoreCase("auto")) {
            return RecoveryOptions.BUMP_AUTO;
        }
        try {
            long n = Long.parseLong(value);
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new dev.etcdrescue.coordinator.UserException(ExitCodes.USAGE, "--bump-revision must be auto, 0 or a positive number, not '" + value + "'");
    }
}
