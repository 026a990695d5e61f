package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.engine.Recovery;
import dev.etcdrescue.coordinator.engine.RecoveryOptions;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.Inventory;
import dev.etcdrescue.coordinator.report.JsonReporter;
import dev.etcdrescue.coordinator.report.RecoveryReport;
import dev.etcdrescue.coordinator.report.Reporter;
import dev.etcdrescue.coordinator.report.TextReporter;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
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
            "  verify      member list equals the plan, health, one leader, no alarm, revision, hashkv",
            "  cut-over    enable the new unit, stop and disable the old one (skipped with --keep-old)"},
        footer = {"", "Examples:",
            "  etcd-rescue recover -i inventory.yaml",
            "  etcd-rescue recover -i inventory.yaml --limit lv-etcd-research-beta --keep-old -w json",
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
        Inventory inventory = inv.load();
        int exit = ExitCodes.OK;
        for (ClusterPlan plan : inventory.clusters()) {
            String op = Recovery.newOperationId();
            Path dir = workDir != null ? workDir.resolve(op) : defaultWorkRoot().resolve(op);
            RecoveryOptions options = new RecoveryOptions(dir, keepOld, allowNoHashTrailer, forceWithLeader, chunkSize,
                    Duration.ofMinutes(2), Duration.ofSeconds(startTimeoutSeconds), Duration.ofSeconds(verifyTimeoutSeconds));
            Reporter reporter = inv.writeOut == InventoryOptions.OutputFormat.json
                    ? new JsonReporter(System.out, System.err)
                    : new TextReporter(System.out, System.console() != null);
            Recovery recovery = new Recovery(AgentChannels.fromDir(plan.tlsDir()), new EtcdClients(Duration.ofSeconds(5)));
            RecoveryReport report = recovery.run(plan, options, op, reporter);
            if (!report.success()) {
                exit = report.exitCode();
                break;
            }
        }
        return exit;
    }

    static Path defaultWorkRoot() {
        String state = System.getenv("XDG_STATE_HOME");
        Path base = state != null && !state.isBlank() ? Path.of(state) : Path.of(System.getProperty("user.home"), ".local", "state");
        return base.resolve("etcd-rescue").resolve("runs");
    }
}
