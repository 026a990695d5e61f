package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.report.JsonReporter;
import dev.etcdrescue.coordinator.report.RecoveryReport.Check;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import dev.etcdrescue.coordinator.verify.ClusterVerifier;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Checks a running cluster against the inventory, with the same checks as recover's verify phase.",
            "Member names, peer and client URLs host by host, health, one leader, no alarm, revisions and hashkv agree."},
        footer = {"", "Example:", "  etcd-rescue verify -i inventory.yaml --limit lv-etcd-research-beta",
            "", "Exit codes: 0 every check passed, 4 a check failed, 2 bad input."})
public final class VerifyCommand implements Callable<Integer> {
    @Mixin InventoryOptions inv;

    @Option(names = "--revision", defaultValue = "-1", paramLabel = "REV",
            description = "Also require every member to be at this revision (default: members must only agree).")
    long revision;

    @Option(names = "--timeout", defaultValue = "30", paramLabel = "SECONDS",
            description = "How long to wait for every member to be healthy (default ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        ClusterVerifier verifier = new ClusterVerifier(new EtcdClients(Duration.ofSeconds(5)));
        Map<String, List<Check>> all = new LinkedHashMap<>();
        boolean ok = true;
        for (ClusterPlan plan : inv.load().clusters()) {
            List<Check> checks = verifier.verify(plan, revision, Optional.empty(), Duration.ofSeconds(timeoutSeconds));
            all.put(plan.name(), checks);
            ok &= checks.stream().allMatch(Check::ok);
        }
        if (inv.writeOut == InventoryOptions.OutputFormat.json) {
            System.out.println(JsonReporter.mapper().writeValueAsString(all));
        } else {
            all.forEach((cluster, checks) -> {
                System.out.println("VERIFY cluster " + cluster);
                checks.forEach(c -> System.out.printf("  %-4s %-28s %s%n", c.ok() ? "ok" : "FAIL", c.name(), c.detail()));
            });
        }
        return ok ? ExitCodes.OK : ExitCodes.VERIFY_FAILED;
    }
}
