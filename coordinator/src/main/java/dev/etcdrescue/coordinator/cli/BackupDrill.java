package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.report.JsonReporter;
import dev.etcdrescue.proto.v1.DrillResult;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "drill", mixinStandardHelpOptions = true,
        description = {"Proves a backup restores: the host's agent reads it back against its signed manifest,",
            "restores it with the host's own restore tool into a scratch dir, starts it as a one-member etcd",
            "on free loopback ports, compares its HashKV with the manifest's, then stops and removes it.",
            "The running member is never touched. The newest trusted backup on that host unless --id."},
        footer = {"", "Example:", "  etcd-rescue backup drill -i inventory.yaml --host etcd-1",
            "", "Exit codes: 0 the backup restored and matched, 1 it did not (or the agent refused), 2 bad input."})
final class BackupDrill implements Callable<Integer> {
    @Mixin InventoryOptions inv;

    @Option(names = "--host", required = true, paramLabel = "HOST", description = "The inventory host whose agent drills.")
    String host;

    @Option(names = "--id", paramLabel = "BACKUP", description = "The backup to drill (default: the newest trusted one on the host).")
    String id;

    @Option(names = "--timeout", defaultValue = "1800", paramLabel = "SECONDS",
            description = "How long the drill may take (default ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        BackupNow.Target target = BackupNow.target(inv, host);
        try (AgentClient agent = AgentChannels.fromDir(target.plan().tlsDir()).connect(target.member().agentEndpoint())) {
            DrillResult r = agent.drillBackup(id == null ? "" : id, BackupStatus.timeout(timeoutSeconds));
            if (inv.writeOut == InventoryOptions.OutputFormat.json) {
                System.out.println(JsonReporter.mapper().writeValueAsString(json(r)));
            } else if (r.getOk()) {
                System.out.printf("%s: drill of %s ok: restored, served and matched (HashKV %x at revision %d) in %.1f s%n", host,
                        r.getId(), r.getHashKv(), r.getRevision(), r.getSeconds());
            } else {
                System.out.printf("%s: drill of %s FAILED after %.1f s: %s%n", host, r.getId(), r.getSeconds(), r.getProblem());
            }
            return r.getOk() ? ExitCodes.OK : ExitCodes.FAILED;
        } catch (RuntimeException e) {
            System.err.println(host + ": no drill: " + AgentError.describe(e, target.member().agentEndpoint().toString()));
            return ExitCodes.FAILED;
        }
    }

    static Map<String, Object> json(DrillResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.getId());
        m.put("at", r.getAt());
        m.put("ok", r.getOk());
        m.put("seconds", r.getSeconds());
        m.put("revision", r.getRevision());
        m.put("hashKv", r.getHashKv());
        m.put("problem", r.getProblem().isEmpty() ? null : r.getProblem());
        return m;
    }
}
