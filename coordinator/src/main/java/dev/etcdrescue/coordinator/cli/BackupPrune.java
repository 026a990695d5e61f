package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.report.JsonReporter;
import dev.etcdrescue.proto.v1.KeptBackup;
import dev.etcdrescue.proto.v1.PruneResult;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "prune", mixinStandardHelpOptions = true,
        description = {"Applies one host's retention (agent.yaml backup.retention) now, to its own backups and the",
            "copies it holds, and lists what goes; with --dry-run, what would go, removing nothing. The newest",
            "backups are read back first: the newest one that reads back whole and the newest one a drill",
            "restored are never removed, whatever the tiers say; a backup that does not hold is left to you."},
        footer = {"", "Examples:", "  etcd-rescue backup prune -i inventory.yaml --host etcd-1 --dry-run",
            "  etcd-rescue backup prune -i inventory.yaml --host etcd-1",
            "", "Exit codes: 0 done, 1 the agent refused or failed, 2 bad input."})
final class BackupPrune implements Callable<Integer> {
    @Mixin InventoryOptions inv;

    @Option(names = "--host", required = true, paramLabel = "HOST", description = "The inventory host whose backup dir is pruned.")
    String host;

    @Option(names = "--dry-run", description = "Only list what would be removed.")
    boolean dryRun;

    @Option(names = "--timeout", defaultValue = "600", paramLabel = "SECONDS",
            description = "How long the agent may take (default ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        BackupNow.Target target = BackupNow.target(inv, host);
        try (AgentClient agent = AgentChannels.fromDir(target.plan().tlsDir()).connect(target.member().agentEndpoint())) {
            PruneResult r = agent.pruneBackups(dryRun, BackupStatus.timeout(timeoutSeconds));
            if (inv.writeOut == InventoryOptions.OutputFormat.json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("host", host);
                m.put("dryRun", r.getDryRun());
                m.put(r.getDryRun() ? "wouldRemove" : "removed", r.getRemovedList());
                Map<String, String> kept = new LinkedHashMap<>();
                r.getKeptList().forEach(k -> kept.put(k.getId(), k.getReason()));
                m.put("kept", kept);
                m.put("leftAlone", r.getUntrustedList());
                System.out.println(JsonReporter.mapper().writeValueAsString(m));
                return ExitCodes.OK;
            }
            String verb = r.getDryRun() ? "would remove" : "removed";
            if (r.getRemovedCount() == 0) {
                System.out.printf("%s: retention %s nothing%n", host, verb);
            }
            r.getRemovedList().forEach(id -> System.out.printf("%s: %s %s%n", host, verb, id));
            for (KeptBackup k : r.getKeptList()) {
                System.out.printf("%s: keeps %s: %s%n", host, k.getId(), k.getReason());
            }
            r.getUntrustedList().forEach(u -> System.out.printf("%s: leaves alone (remove it yourself once understood) %s%n", host, u));
            return ExitCodes.OK;
        } catch (RuntimeException e) {
            System.err.println(host + ": no prune: " + AgentError.describe(e, target.member().agentEndpoint().toString()));
            return ExitCodes.FAILED;
        }
    }
}
