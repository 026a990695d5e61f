package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.report.JsonReporter;
import dev.etcdrescue.proto.v1.BackupEntry;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "now", mixinStandardHelpOptions = true,
        description = {"Has one host's agent take a backup now, outside its schedule: the same checks (trailer,",
            "bbolt, HashKV against the member), the same signed manifest and retention. Refused while",
            "the agent is claimed by a recovery."},
        footer = {"", "Example:", "  etcd-rescue backup now -i inventory.yaml --host etcd-1",
            "", "Exit codes: 0 taken, 1 the agent refused or failed, 2 bad input."})
final class BackupNow implements Callable<Integer> {
    @Mixin InventoryOptions inv;

    @Option(names = "--host", required = true, paramLabel = "HOST", description = "The inventory host whose agent takes it.")
    String host;

    @Option(names = "--timeout", defaultValue = "1800", paramLabel = "SECONDS",
            description = "How long the backup may take (default ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    /** The host an inventory names, with its cluster. */
    record Target(ClusterPlan plan, MemberPlan member) {}

    static Target target(InventoryOptions inv, String host) {
        Optional<ClusterPlan> plan = inv.load().clusters().stream()
                .filter(c -> c.members().stream().anyMatch(m -> m.hostName().equals(host))).findFirst();
        if (plan.isEmpty()) {
            throw new UserException(FailureKind.BAD_INPUT, "--host " + host + " is not a host of " + inv.inventory);
        }
        return new Target(plan.get(), plan.get().members().stream().filter(m -> m.hostName().equals(host)).findFirst().orElseThrow());
    }

    @Override
    public Integer call() throws Exception {
        Target target = target(inv, host);
        MemberPlan member = target.member();
        try (AgentClient agent = AgentChannels.fromDir(target.plan().tlsDir()).connect(member.agentEndpoint())) {
            BackupEntry b = agent.takeBackup(BackupStatus.timeout(timeoutSeconds));
            if (inv.writeOut == InventoryOptions.OutputFormat.json) {
                Map<String, Object> doc = new java.util.LinkedHashMap<>(BackupList.json(b));
                doc.put("copies", b.getCopiesList());
                System.out.println(JsonReporter.mapper().writeValueAsString(doc));
            } else {
                System.out.printf("%s: took %s: revision %d, %d keys, %.1f MiB stored (%.1f MiB snapshot), HashKV %x equal to the member's%n",
                        host, b.getId(), b.getRevision(), b.getTotalKeys(), b.getFileSize() / 1048576.0, b.getSnapshotSize() / 1048576.0,
                        b.getHashKv());
                b.getCopiesList().forEach(c -> System.out.printf("%s: copy of %s on %s%n", host, b.getId(), c));
            }
            return ExitCodes.OK;
        } catch (RuntimeException e) {
            System.err.println(host + ": backup not taken: " + AgentError.describe(e, member.agentEndpoint().toString()));
            return ExitCodes.FAILED;
        }
    }
}
