package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.inventory.SnapshotSource;
import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.backup.BackupFetch;
import dev.etcdrescue.coordinator.agent.SnapshotDistribution;
import dev.etcdrescue.coordinator.engine.Journal;
import dev.etcdrescue.coordinator.engine.Recovery;
import dev.etcdrescue.coordinator.engine.RecoveryOptions;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.Inventory;
import dev.etcdrescue.coordinator.report.FleetReport;
import dev.etcdrescue.coordinator.report.FleetReporter;
import dev.etcdrescue.coordinator.rollout.Rollout;
import dev.etcdrescue.coordinator.rollout.RolloutPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "recover", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Recovers each cluster of the inventory from a survivor or a backup, on every host at once.",
            "Its phases:",
            "  preflight   reach every agent over mTLS, claim it, check tools, disk, ports, versions, the source",
            "  snapshot    jetcd snapshot of the best surviving member (or the given file); SHA-256 trailer checked",
            "  distribute  stream it to every agent; each verifies SHA-256 and fsyncs before keeping it",
            "  restore     etcdutl (or etcdctl) snapshot restore with the full initial cluster",
            "  configure   new env file and unit (copied from the old unit); replaced files are moved aside",
            "              (fenced: new members serve clients only on --fence-port until verify passes)",
            "  start       daemon-reload, start the new unit on all hosts together, wait until active",
            "  verify      member list equals the plan, health, one leader, no alarm, revision, hashkv",
            "  release     (fenced) members move to their planned client URLs, as many at once as keep a quorum,",
            "              the leader last after handing leadership over; member list checked again",
            "  cut-over    enable the new unit, stop and disable the old one (skipped with --keep-old)"},
        footer = {"", "Examples:",
            "  etcd-rescue recover -i inventory.yaml",
            "  etcd-rescue recover -i inventory.yaml --limit lv-etcd-research-beta --keep-old -w json",
            "  etcd-rescue recover -i fleet.yaml --serial 2 --max-fail-percentage 50",
            "",
            "A run's work dir (printed first) holds its journal: 'etcd-rescue resume DIR' continues a run that was",
            "interrupted, 'etcd-rescue rollback DIR' undoes it on every host.",
            "",
            "Fleets: the clusters of the inventory (after --limit) are rolled through as",
            "Ansible's serial and max_fail_percentage do. --serial clusters recover at",
            "once, each with its own operation id and work dir; after each batch the",
            "rollout stops if more than --max-fail-percentage of that batch failed (or all",
            "of it). Clusters not started by then are left untouched. With several",
            "clusters each line starts with its cluster's name and a fleet recap follows",
            "(recovered / failed / not started, with work dirs); -w json prints",
            "{\"clusters\":[report...], \"notStarted\":[names], \"stoppedAfterBatch\": n|null}",
            "(one cluster: that cluster's report, as before).",
            "",
            "Exit codes: 0 every cluster recovered and verified; otherwise the code of the",
            "first failed cluster in inventory order: 1 a phase failed, 2 bad input,",
            "3 refused before any host was changed, 4 verify failed, 70 internal error."})
public final class RecoverCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin InventoryOptions inv;

    @Option(names = "--keep-old", description = "Leave the old unit running and enabled (side-by-side, as the seed's experiment).")
    boolean keepOld;

    @Option(names = "--allow-no-hash-trailer",
            description = "Accept a snapshot without etcd's SHA-256 trailer (a raw member/snap/db copied from a dead member).")
    boolean allowNoHashTrailer;

    @Option(names = "--allow-v2-loss",
            description = "Restore even though the source member holds v2 keys: a v3 snapshot does not carry them, they are lost.")
    boolean allowV2Loss;

    @Option(names = "--check",
            description = "Do nothing: print what would be done on every host (the same as 'etcd-rescue plan').")
    boolean check;

    @Option(names = "--force-with-leader",
            description = "Restore even though an old member still sees a leader (its cluster may still have quorum).")
    boolean forceWithLeader;

    @Option(names = "--bump-revision", defaultValue = "auto", paramLabel = "N|auto",
            description = "Add N to every revision (with --mark-compacted) so watchers never see revisions go backwards; "
                    + "auto (default): 1000000000 where every host's restore tool supports it (etcdutl 3.5+), else none; 0: off.")
    String bumpRevision;

    @Option(names = "--fence-port", defaultValue = "32379", paramLabel = "PORT",
            description = "When fenced, restored members serve clients only on this port of their own address until verify "
                    + "passes, then move to their planned client URLs (default ${DEFAULT-VALUE}; 0: never fence).")
    int fencePort;

    @Option(names = "--fence", defaultValue = "auto", paramLabel = "auto|always",
            description = "auto (default): fence only where clients of the old cluster could reach the new members, that is "
                    + "when a planned client port is one the old cluster served (a restore in place) or the old ports are unknown; "
                    + "new ports, as in a side-by-side restore, need no fence and save every member a restart. always: fence anyway.")
    String fence;

    @Option(names = "--serial", defaultValue = "1", paramLabel = "N|P%",
            description = "How many clusters recover at once (Ansible's serial): a number, or a percentage of the selected "
                    + "clusters, at least 1 (default ${DEFAULT-VALUE}: one after another).")
    String serial;

    @Option(names = "--max-fail-percentage", defaultValue = "0", paramLabel = "P",
            description = "Stop the rollout after a batch in which more than P%% of the clusters failed, or all of them "
                    + "(Ansible's max_fail_percentage); clusters not started yet are left untouched "
                    + "(default ${DEFAULT-VALUE}: any failure stops it).")
    int maxFailPercentage;

    @Option(names = {"-y", "--yes"},
            description = "If restore, configure or start fails, roll every host back at once without asking.")
    boolean yes;

    @Option(names = "--work-dir", paramLabel = "DIR",
            description = "Where the snapshot and report.json of this run are kept (default: ~/.local/state/etcd-rescue/runs/<operation id>).")
    Path workDir;

    @Option(names = "--from-backup", paramLabel = "latest|ID",
            description = "Restore from a backup the agents took (see 'etcd-rescue backup list') instead of the inventory's source: "
                    + "the newest that reads back whole from its holder (latest), or that one. Each backup passed over is named.")
    String fromBackup;

    @Option(names = "--keep-snapshot",
            description = "Keep the snapshot this run takes into its work dir after a verified recovery. It holds every key "
                    + "(every Kubernetes Secret), so by default it is removed once verify passed; a snapshot file named in "
                    + "the inventory is never removed.")
    boolean keepSnapshot;

    @Option(names = "--chunk-size", defaultValue = "1048576", paramLabel = "BYTES",
            description = "Transfer chunk size (default ${DEFAULT-VALUE}; at most 4 MiB).")
    int chunkSize;

    @Option(names = "--distribution", defaultValue = "auto", paramLabel = "MODE",
            description = "How the snapshot reaches the agents. auto (default): when the source member runs on an inventory "
                    + "host, that host's agent takes the snapshot and sends it to the others itself (source-fanout for 3 hosts, "
                    + "source-chain from 4 on), so the coordinator carries none of its bytes; if that agent cannot take it, the "
                    + "coordinator takes it (streamed). source-fanout or source-chain force that route (and fail instead of falling back). "
                    + "Through the coordinator: streamed (one stream to each agent, started while the snapshot is taken), direct "
                    + "(the same once it is checked; a broken transfer resumes from what each agent holds) or relay (sent once to the "
                    + "first agent, each forwards to the next). A snapshot_file is sent directly (or by relay).")
    String distribution;

    @Option(names = "--start-timeout", defaultValue = "120", paramLabel = "SECONDS",
            description = "How long the new members get to become active (default ${DEFAULT-VALUE}).")
    long startTimeoutSeconds;

    @Option(names = "--verify-timeout", defaultValue = "120", paramLabel = "SECONDS",
            description = "How long verify waits for every member to be healthy (default ${DEFAULT-VALUE}).")
    long verifyTimeoutSeconds;

    @Override
    public Integer call() throws Exception {
        if (chunkSize < 1024 || chunkSize > (4 << 20)) {
            throw new UserException(FailureKind.BAD_INPUT, "--chunk-size must be between 1024 and 4194304 bytes");
        }
        long bump = parseBump(bumpRevision);
        SnapshotDistribution.Mode mode;
        try {
            mode = SnapshotDistribution.Mode.parse(distribution);
        } catch (IllegalArgumentException e) {
            throw new UserException(FailureKind.BAD_INPUT, "--distribution: " + e.getMessage());
        }
        if (check) {
            PlanCommand plan = new PlanCommand();
            plan.inv = inv;
            plan.bumpRevision = bumpRevision;
            plan.fencePort = fencePort;
            plan.fence = fence;
            plan.keepOld = keepOld;
            return plan.call();
        }
        if (fencePort < 0 || fencePort > 65535) {
            throw new UserException(FailureKind.BAD_INPUT, "--fence-port must be 0 (no fence) or a port number");
        }
        RecoveryOptions.FenceMode fenceMode = fenceMode(fence);
        Inventory inventory = inv.load();
        List<ClusterPlan> clusters = inventory.clusters();
        if (clusters.isEmpty()) {
            throw new UserException(FailureKind.BAD_INPUT, inventory.source() + " holds no cluster to recover");
        }
        RolloutPolicy policy = policy(clusters.size());
        String inventorySha = Runs.sha256(inventory.source());
        Path root = (workDir != null ? workDir : Runs.defaultWorkRoot()).toAbsolutePath();
        // Everything that can be refused is checked for every cluster before the first one starts.
        Map<String, Prepared> prepared = new LinkedHashMap<>();
        Set<String> operations = new HashSet<>();
        for (ClusterPlan plan : clusters) {
            String op = uniqueOperationId(root, operations);
            prepared.put(plan.name(), new Prepared(op, root.resolve(op), Runs.recovery(plan)));
        }
        List<String> names = clusters.stream().map(ClusterPlan::name).toList();
        FleetReporter reporter = inv.writeOut == InventoryOptions.OutputFormat.json
                ? FleetReporter.json(System.out, System.err, names)
                : FleetReporter.text(System.out, System.console() != null, names);
        FleetReport fleet = new Rollout(policy, ExitCodes::of).run(clusters, (plan, clusterReporter) -> {
            Prepared p = prepared.get(plan.name());
            ClusterPlan source = fromBackup == null ? plan : fromBackup(plan, p.dir());
            RecoveryOptions options = new RecoveryOptions(p.dir(), keepOld, allowNoHashTrailer, forceWithLeader, bump, fencePort, yes,
                    chunkSize, RecoveryOptions.DEFAULT_CLAIM_TTL, Duration.ofSeconds(startTimeoutSeconds),
                    Duration.ofSeconds(verifyTimeoutSeconds), allowV2Loss, mode, fenceMode, keepSnapshot);
            Journal journal = Journal.create(p.dir(), new Journal.Header(p.operationId(), plan.name(),
                    inventory.source().toAbsolutePath().toString(), inventorySha, options));
            return p.recovery().run(source, options, journal, clusterReporter);
        }, reporter);
        if (clusters.size() == 1 && fleet.clusters().size() == 1 && fleet.clusters().get(0).workDir() == null) {
            // The one cluster never started (its journal could not be written): no report was printed, say why.
            spec.commandLine().getErr().println("etcd-rescue: " + fleet.clusters().get(0).message());
        }
        return fleet.exitCode();
    }

    /**
     * The plan restored from a backup: the copies its agents list, in the order to try them. The snapshot phase has the
     * first holder that reads its copy back stage it and send it on to the other agents (BackupSnapshotStep); refused
     * before any host changes when no copy is listed.
     */
    private ClusterPlan fromBackup(ClusterPlan plan, Path dir) {
        try {
            List<String> passedOver = new java.util.ArrayList<>();
            var inOrder = new BackupFetch(AgentChannels.fromDir(plan.tlsDir()), Duration.ofMinutes(30))
                    .choose(plan, fromBackup, passedOver, note -> System.err.println(plan.name() + ": " + note));
            if (inOrder.isEmpty()) {
                throw BackupFetch.noneArrived(plan.name(), fromBackup, passedOver);
            }
            SnapshotSource.Backup source = BackupFetch.source(fromBackup, inOrder, dir);
            SnapshotSource.Copy first = source.inOrder().get(0);
            long copies = source.inOrder().stream().filter(c -> c.id().equals(first.id())).count();
            System.err.println(plan.name() + ": restoring from backup " + first.id() + " (revision " + first.revision() + ", taken "
                    + first.takenAt() + " on " + first.takenBy() + "), " + copies + " cop" + (copies == 1 ? "y" : "ies")
                    + " of it to try, first " + (first.inObjectStore() ? "the copy in " + first.location() + ", which the agent on "
                    + first.holder() + " downloads" : (first.copyFrom().isEmpty() ? "" : "the copy on ") + first.holder())
                    + ": its agent reads it back and sends it to the other hosts");
            return plan.withSnapshot(source);
        } catch (java.io.IOException e) {
            throw new UserException(FailureKind.PHASE_FAILED, "cannot write the chosen backup into " + dir + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserException(FailureKind.PHASE_FAILED, "interrupted while listing the backups");
        }
    }

    /** What one cluster's recovery is given before the rollout starts. */
    private record Prepared(String operationId, Path dir, Recovery recovery) {}

    private RolloutPolicy policy(int clusters) {
        if (maxFailPercentage < 0 || maxFailPercentage > 100) {
            throw new UserException(FailureKind.BAD_INPUT, "--max-fail-percentage must lie in 0..100, not " + maxFailPercentage);
        }
        try {
            return new RolloutPolicy(RolloutPolicy.parseSerial(serial, clusters), maxFailPercentage);
        } catch (IllegalArgumentException e) {
            throw new UserException(FailureKind.BAD_INPUT, e.getMessage());
        }
    }

    /** Operation ids carry the second and 16 random bits: clusters started together must not share one (nor a work dir). */
    private static String uniqueOperationId(Path root, Set<String> taken) {
        while (true) {
            String op = Recovery.newOperationId();
            if (taken.add(op) && !Files.exists(root.resolve(op))) {
                return op;
            }
        }
    }

    static RecoveryOptions.FenceMode fenceMode(String value) {
        try {
            return RecoveryOptions.FenceMode.parse(value);
        } catch (IllegalArgumentException e) {
            throw new UserException(FailureKind.BAD_INPUT, "--fence: " + e.getMessage());
        }
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
        throw new UserException(FailureKind.BAD_INPUT, "--bump-revision must be auto, 0 or a positive number, not '" + value + "'");
    }
}
