package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.engine.Planner;
import dev.etcdrescue.coordinator.engine.RecoveryOptions;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.report.JsonReporter;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "plan", mixinStandardHelpOptions = true,
        description = {"Prints every change 'recover' would make on every host, and changes nothing.",
            "It shows the restore command line, the env file and unit with their full new content (and what differs",
            "from the current ones), the ports and the systemctl calls. The agents render it with the same code that acts."},
        footer = {"", "Example:", "  etcd-rescue plan -i inventory.yaml", "",
            "Exit codes: 0 recover would proceed, 3 recover would refuse (the lines marked ERROR say why), 2 bad input."})
public final class PlanCommand implements Callable<Integer> {
    @Mixin InventoryOptions inv;

    @Option(names = "--bump-revision", defaultValue = "auto", paramLabel = "N|auto", description = "As for recover.")
    String bumpRevision;

    @Option(names = "--fence-port", defaultValue = "32379", paramLabel = "PORT", description = "As for recover.")
    int fencePort;

    @Option(names = "--fence", defaultValue = "auto", paramLabel = "auto|always", description = "As for recover.")
    String fence;

    @Option(names = "--keep-old", description = "As for recover.")
    boolean keepOld;

    @Override
    public Integer call() throws Exception {
        long bump = RecoverCommand.parseBump(bumpRevision);
        List<Planner.ClusterDryRun> runs = new ArrayList<>();
        for (ClusterPlan plan : inv.load().clusters()) {
            RecoveryOptions d = RecoveryOptions.defaults(Path.of("."));
            RecoveryOptions options = new RecoveryOptions(d.workDir(), keepOld, false, false, bump, fencePort, false, d.chunkSize(),
                    d.claimTtl(), d.startTimeout(), d.verifyTimeout(), false, d.distribution(), RecoverCommand.fenceMode(fence),
                    false);
            runs.add(new Planner(AgentChannels.fromDir(plan.tlsDir()),
                    new dev.etcdrescue.coordinator.snapshot.EtcdClients(Duration.ofSeconds(3))).plan(plan, options));
        }
        if (inv.writeOut == InventoryOptions.OutputFormat.json) {
            System.out.println(JsonReporter.mapper().writeValueAsString(runs));
        } else {
            runs.forEach(r -> print(r, System.out));
        }
        return runs.stream().anyMatch(Planner.ClusterDryRun::refused) ? ExitCodes.PREFLIGHT_REFUSED : ExitCodes.OK;
    }

    private static void print(Planner.ClusterDryRun run, PrintStream out) {
        out.printf("PLAN cluster %s (%d hosts): nothing is changed%n", run.cluster(), run.hosts().size());
        out.printf("  source:        %s%n  revision bump: %s%n  fence:         %s%n", run.source(), run.bump(), run.fence());
        for (Planner.HostPlan h : run.hosts()) {
            out.printf("%nHOST %s (agent %s)%n", h.host(), h.agent());
            if (h.error() != null) {
                out.printf("  ERROR %s%n", h.error());
                continue;
            }
            out.printf("  etcd %s, restore tool %s%n", h.etcdVersion(), h.restoreTool());
            out.printf("  restore:  %s%n", String.join(" ", h.restoreCommand()));
            out.printf("  data dir: %s%s%n", h.dataDir(), h.dataDirMovedAsideTo().isEmpty() ? " (new)"
                    : " (exists: moved aside to " + h.dataDirMovedAsideTo() + ")");
            out.printf("  old member: %s%n", h.oldLayout().isEmpty() ? "no setting found" : h.oldLayout());
            h.oldSettings().forEach(l -> out.printf("    | %s%n", l));
            file(out, "env file", h.envFile(), h.envFileContent(), h.currentEnvFileContent());
            file(out, "unit", h.unitFile(), h.unitFileContent(), h.currentUnitFileContent());
            h.carriedOver().forEach(c -> out.printf("  carry-over: %s%n", c));
            out.printf("  ports:    %s%n", String.join(", ", h.ports()));
            h.systemctl().forEach(c -> out.printf("  run:      %s%n", c));
            h.findings().forEach(f -> out.printf("  %s%n", f));
        }
        out.printf("%n%s%n%n", !run.refused() ? "recover would proceed"
                : run.bumpRefused() ? "recover would REFUSE: see the revision bump line and any ERROR lines"
                : "recover would REFUSE: see the ERROR lines");
    }

    private static void file(PrintStream out, String what, String path, String content, String current) {
        if (current.isEmpty()) {
            out.printf("  %s: %s (new)%n", what, path);
            content.lines().forEach(l -> out.printf("    | %s%n", l));
            return;
        }
        if (current.equals(content)) {
            out.printf("  %s: %s (unchanged)%n", what, path);
            return;
        }
        out.printf("  %s: %s (replaced; the current one is moved aside). Differences:%n", what, path);
        Set<String> now = new LinkedHashSet<>(current.lines().toList());
        Set<String> next = new LinkedHashSet<>(content.lines().toList());
        now.stream().filter(l -> !next.contains(l)).forEach(l -> out.printf("    - %s%n", l));
        next.stream().filter(l -> !now.contains(l)).forEach(l -> out.printf("    + %s%n", l));
    }
}
