package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.engine.CoordinatorFailpoints;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.Inventory;
import dev.etcdrescue.coordinator.inventory.InventoryLoader;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.member.MemberReplacement;
import dev.etcdrescue.coordinator.member.ReplaceJournal;
import dev.etcdrescue.coordinator.member.ReplaceRollback;
import dev.etcdrescue.coordinator.report.RecoveryReport;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "replace-member", mixinStandardHelpOptions = true,
        description = {"Replaces a dead member of a cluster that still has quorum, without a restore (several: one at a time).",
            "Checks first (quorum now and after the removal, 3 or more members, no learner in flight, the member really",
            "dead, the target's disk, etcd version); then a snapshot into the run dir, member remove, the old member",
            "fenced (units stopped and disabled, data dir moved aside), member add as a learner, the host configured with",
            "initial-cluster-state=existing and started, progress with an ETA, promote, verify. A learner that stalls is",
            "removed again: the cluster is back where it was. Journaled: 'etcd-rescue resume RUN_DIR' continues a run.",
            "With --to HOST the new member runs on another host of the cluster's group that is not a member yet (its agent",
            "installed): its ports, dirs, disk and etcd version are checked, it joins under its own inventory name and URLs",
            "(etcd's name and the inventory stay the same thing), the dead host's agent fences the old member where it",
            "answers, and the run ends printing the inventory change: the dead host leaves the group."},
        footer = {"", "Examples:", "  etcd-rescue doctor -i inventory.yaml            # names the member and prints this command",
            "  etcd-rescue replace-member -i inventory.yaml --member etcd-2 --check",
            "  etcd-rescue replace-member -i inventory.yaml --member etcd-2",
            "  etcd-rescue replace-member -i inventory.yaml --member etcd-2 --to etcd-4   # etcd-4: a new host in the group",
            "  etcd-rescue replace-member -i inventory.yaml --member etcd-2 --member etcd-3  # two of five down: one, then the other",
            "", "Exit codes: 0 replaced and verified (with --check: it would proceed), 1 a step failed (the output says",
            "where the cluster stands), 2 bad input, 3 refused before any change, 4 verify failed."})
public final class ReplaceMemberCommand implements Callable<Integer> {
    @Mixin InventoryOptions inv;

    @Option(names = "--member", required = true, paramLabel = "NAME", split = ",",
            description = {"The member to replace: its etcd name or its host's name. Several (repeated, or comma-separated): replaced",
                "one at a time, in that order, each a run of its own that starts once the one before it is verified."})
    List<String> members;

    @Option(names = "--to", paramLabel = "HOST",
            description = "Run the new member on this host of the cluster's group (not a member yet) instead of the member's own host.")
    String to;

    @Option(names = "--check", description = "Only the checks: what would be refused, nothing changed.")
    boolean checkOnly;

    @Option(names = "--work-dir", paramLabel = "DIR",
            description = "Where the run's dir (journal, snapshot) goes (default: ~/.local/state/etcd-rescue/runs).")
    Path workDir;

    @Option(names = "--stall-timeout", paramLabel = "SECONDS",
            description = "How long the learner may make no progress before it is removed again (default: 60 plus 1 per 4 MiB of db).")
    Long stallSeconds;

    @Option(names = "--verify-timeout", defaultValue = "60", paramLabel = "SECONDS",
            description = "How long verify waits for every member to be healthy (default ${DEFAULT-VALUE}).")
    long verifyTimeoutSeconds;

    @Override
    public Integer call() throws Exception {
        Inventory inventory = inv.load();
        if (members.size() != new java.util.LinkedHashSet<>(members).size()) {
            throw new UserException(FailureKind.BAD_INPUT, "--member " + String.join(",", members) + " names a member twice");
        }
        if (members.size() > 1 && to != null) {
            throw new UserException(FailureKind.BAD_INPUT, "--to " + to + " goes with one --member: replace the others on their own hosts"
                    + " in a run of their own");
        }
        List<ClusterPlan> clusters = members.stream().map(m -> clusterOf(inventory, m)).distinct().toList();
        if (clusters.size() > 1) {
            throw new UserException(FailureKind.BAD_INPUT, "--member " + String.join(",", members) + " names members of clusters "
                    + clusters.stream().map(ClusterPlan::name).toList() + ": one cluster per run");
        }
        if (checkOnly) {
            int worst = ExitCodes.OK;
            for (String m : members) {
                worst = Math.max(worst, check(clusters.get(0), m));
            }
            return worst;
        }
        ClusterPlan plan = clusters.get(0);
        if (members.size() > 1) {
            // Every one is checked before anything changes: the first run removes the others too (see Options.removeAlso).
            for (String m : members) {
                MemberPlan target = MemberReplacement.member(plan, m);
                List<RecoveryReport.Check> failed = replacement(plan).check(plan, target, java.util.Optional.empty()).checks()
                        .stream().filter(c -> !c.ok()).toList();
                if (!failed.isEmpty()) {
                    throw new UserException(FailureKind.REFUSED, "replace-member refused for " + m + ", nothing changed: "
                            + failed.get(0).name() + ": " + failed.get(0).detail());
                }
            }
        }
        for (int i = 0; i < members.size(); i++) {
            if (members.size() > 1) {
                System.out.println("REPLACE [member] " + (i + 1) + " of " + members.size() + ": " + members.get(i));
            }
            try {
                replace(plan, members.get(i), members.subList(i + 1, members.size()));
            } catch (RuntimeException | InterruptedException e) {
                if (i + 1 < members.size()) {
                    System.out.println("REPLACE [member] not started: " + String.join(", ", members.subList(i + 1, members.size()))
                            + " (run replace-member for them once " + members.get(i) + " is resolved)");
                }
                throw e;
            }
        }
        return ExitCodes.OK;
    }

    private ClusterPlan clusterOf(Inventory inventory, String member) {
        List<ClusterPlan> with = inventory.clusters().stream().filter(c -> c.members().stream()
                .anyMatch(m -> m.etcdName().equals(member) || m.hostName().equals(member))).toList();
        if (with.isEmpty()) {
            throw new UserException(FailureKind.BAD_INPUT, "--member " + member + ": no cluster of " + inv.inventory + " has a member or host"
                    + " of that name");
        }
        if (with.size() > 1) {
            throw new UserException(FailureKind.BAD_INPUT, "--member " + member + " is in clusters " + with.stream().map(ClusterPlan::name)
                    .toList() + ": choose one with --limit");
        }
        return with.get(0);
    }

    /** The checks alone for {@code member}, as of now. */
    private int check(ClusterPlan plan, String member) {
        MemberPlan target = MemberReplacement.member(plan, member);
        MemberPlan host = to == null ? target : MemberReplacement.target(plan, target, to);
        MemberReplacement.Checked checked = replacement(plan).check(plan, target, host, java.util.Optional.empty());
        checked.checks().forEach(c -> System.out.printf("  %-4s %-22s %s%n", c.ok() ? "ok" : "FAIL", c.name(), c.detail()));
        System.out.println(checked.ok() ? "replace-member would proceed for " + target.etcdName() + " on " + host.hostName()
                : "replace-member would be refused; nothing was changed");
        return checked.ok() ? ExitCodes.OK : ExitCodes.PREFLIGHT_REFUSED;
    }

    /** One member's run: its own operation, run dir and journal; {@code next}: the dead members replaced after it. */
    private void replace(ClusterPlan plan, String member, List<String> next) throws InterruptedException {
        MemberPlan target = MemberReplacement.member(plan, member);
        MemberPlan host = to == null ? target : MemberReplacement.target(plan, target, to);
        MemberReplacement replacement = replacement(plan);
        String op = "replace-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-"
                + HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt());
        Path dir = (workDir != null ? workDir : Runs.defaultWorkRoot()).toAbsolutePath().resolve(op);
        ReplaceJournal journal = ReplaceJournal.create(dir, new ReplaceJournal.Header(op, plan.name(), target.etcdName(),
                inv.inventory.toAbsolutePath().toString(), Runs.sha256(inv.inventory), to == null ? null : host.hostName()));
        System.out.println("REPLACE [run] operation " + op + ", run dir " + dir + " (etcd-rescue resume " + dir + " continues it)");
        MemberReplacement.Options options = options(dir);
        replacement.replace(plan, target, host, journal, new MemberReplacement.Options(options.workDir(), options.stallTimeout(),
                options.claimTtl(), options.verifyTimeout(), next.stream().map(n -> MemberReplacement.member(plan, n)).toList()));
    }

    /** A replace-member run read back from its dir: its journal, and the plan, member and target host it began with. */
    record Run(ReplaceJournal journal, ClusterPlan plan, MemberPlan member, MemberPlan host) {}

    static Run run(Path dir) {
        ReplaceJournal journal = ReplaceJournal.open(dir);
        ReplaceJournal.Header h = journal.header();
        Path inventory = Path.of(h.inventory());
        if (!Files.isRegularFile(inventory) || !Runs.sha256(inventory).equals(h.inventorySha256())) {
            throw new UserException(FailureKind.BAD_INPUT, "the inventory " + inventory + " is gone or changed since the run in " + dir
                    + " started: a resumed or rolled back run must act on the plan it began with");
        }
        ClusterPlan plan = InventoryLoader.load(inventory).cluster(h.cluster()).orElseThrow(() -> new UserException(FailureKind.BAD_INPUT,
                "cluster " + h.cluster() + " is no longer in " + inventory));
        MemberPlan target = MemberReplacement.member(plan, h.member());
        MemberPlan host = h.to() == null ? target : MemberReplacement.target(plan, target, h.to());
        return new Run(journal, plan, target, host);
    }

    /** {@code resume RUN_DIR} of a replace-member run: the same member, the same operation, from the same inventory. */
    static int resume(Path dir) throws InterruptedException {
        Run run = run(dir);
        System.out.println("REPLACE [run] resuming operation " + run.journal().header().operationId() + " from " + dir);
        replacement(run.plan()).replace(run.plan(), run.member(), run.host(), run.journal(),
                new MemberReplacement.Options(dir, null, Duration.ofMinutes(2), Duration.ofSeconds(60)));
        return ExitCodes.OK;
    }

    /** {@code rollback RUN_DIR} of a replace-member run (confirmed by the caller). */
    static int rollback(Run run, Path dir) throws InterruptedException {
        System.out.println("ROLLBACK [run] operation " + run.journal().header().operationId() + " (replace-member " + run.member().etcdName()
                + " on " + run.host().hostName() + ") from " + dir);
        new ReplaceRollback(AgentChannels.fromDir(run.plan().tlsDir()), new EtcdClients(Duration.ofSeconds(5), run.plan().etcdAccess()),
                System.out).rollback(run.plan(), run.member(), run.host(), run.journal(), dir);
        return ExitCodes.OK;
    }

    private MemberReplacement.Options options(Path dir) {
        if (stallSeconds != null && stallSeconds < 1) {
            throw new UserException(FailureKind.BAD_INPUT, "--stall-timeout must be at least 1 second");
        }
        return new MemberReplacement.Options(dir, stallSeconds == null ? null : Duration.ofSeconds(stallSeconds), Duration.ofMinutes(2),
                Duration.ofSeconds(verifyTimeoutSeconds));
    }

    private static MemberReplacement replacement(ClusterPlan plan) {
        return new MemberReplacement(AgentChannels.fromDir(plan.tlsDir()), new EtcdClients(Duration.ofSeconds(5), plan.etcdAccess()), System.out,
                CoordinatorFailpoints.fromEnvironment(System.getenv()));
    }
}
