package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.backup.BackupCandidates;
import dev.etcdrescue.coordinator.backup.FleetBackups;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.report.JsonReporter;
import dev.etcdrescue.proto.v1.BackupEntry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Every host reads each copy it holds back (the taker's own and those pushed to it by peers):",
            "both SHA-256 digests and the signature of its manifest, then the snapshot inside: etcd's hash",
            "trailer, the bbolt structure, and revision, key count and HashKV equal to the manifest's.",
            "One row per copy. Slow: every file is read and unpacked."},
        footer = {"", "Examples:", "  etcd-rescue backup verify -i inventory.yaml",
            "  etcd-rescue backup verify -i inventory.yaml --id prod-a-20260101T000000.000Z-r1234",
            "", "Exit codes: 0 each cluster's newest backup has a good copy (with --id: that backup has one),",
            "1 otherwise, 2 bad input."})
final class BackupVerify implements Callable<Integer> {
    @Mixin InventoryOptions inv;

    @Option(names = "--id", paramLabel = "BACKUP", description = "Only the copies of this backup (default: every backup).")
    String id;

    @Option(names = "--timeout", defaultValue = "1800", paramLabel = "SECONDS",
            description = "How long the agents get to read everything back, all together (default ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        List<ClusterPlan> clusters = inv.load().clusters();
        List<FleetBackups.HostBackups> hosts = new FleetBackups(AgentChannels::fromDir, BackupStatus.timeout(timeoutSeconds))
                .verify(clusters, id == null ? "" : id);
        List<String> problems = new ArrayList<>();
        for (ClusterPlan c : clusters) {
            Optional<String> bad = BackupCandidates.newestWithoutGoodCopy(c.name(),
                    hosts.stream().filter(h -> h.cluster().equals(c.name())).toList());
            bad.ifPresent(problems::add);
        }
        boolean newestGood = problems.isEmpty();
        List<String> notAsked = hosts.stream().filter(h -> h.error() != null).map(h -> h.cluster() + ": " + h.host() + " not asked: "
                + h.error()).toList();
        if (inv.writeOut == InventoryOptions.OutputFormat.json) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (FleetBackups.HostBackups h : hosts) {
                for (BackupEntry b : h.backups()) {
                    Map<String, Object> row = new LinkedHashMap<>(BackupList.json(b));
                    row.put("cluster", h.cluster());
                    row.put("holder", BackupList.holder(b, h.host()));
                    rows.add(row);
                }
            }
            System.out.println(JsonReporter.mapper().writeValueAsString(Map.of("copies", rows, "problems", problems, "notAsked", notAsked,
                    "ok", newestGood)));
            return newestGood ? ExitCodes.OK : ExitCodes.FAILED;
        }
        List<List<String>> cells = new ArrayList<>();
        for (FleetBackups.HostBackups h : hosts) {
            for (BackupEntry b : h.backups()) {
                cells.add(List.of(h.cluster(), b.getId(), BackupList.holder(b, h.host()), b.getTrusted() ? BackupList.takenBy(b) : "-",
                        !b.getTrusted() ? "NOT TRUSTED: " + b.getProblem()
                                : b.getReadBackOk() ? "ok: digests, signature, trailer, bbolt, HashKV" : "FAILED: " + b.getProblem()));
            }
        }
        Table.print(System.out, List.of("CLUSTER", "BACKUP", "HOLDER", "TAKEN BY", "CHECK"), cells);
        notAsked.forEach(p -> System.out.println("not asked: " + p));
        problems.forEach(p -> System.out.println("problem: " + p));
        if (newestGood) {
            System.out.println("the newest backup of every cluster has a good copy");
        }
        return newestGood ? ExitCodes.OK : ExitCodes.FAILED;
    }
}
