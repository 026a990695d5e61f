package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.backup.FleetBackups;
import dev.etcdrescue.coordinator.report.JsonReporter;
import dev.etcdrescue.proto.v1.BackupEntry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "list", mixinStandardHelpOptions = true,
        description = {"Lists every backup on every host of the inventory: id, revision, keys, sizes, when and",
            "where it was taken (a copy a peer pushed names its taker), and whether its signed manifest",
            "holds. --read-back reads every file again against both SHA-256 digests of its manifest",
            "(slow: all of them are read)."},
        footer = {"", "Exit codes: 0 every agent answered and every backup holds, 1 otherwise, 2 bad input."})
final class BackupList implements Callable<Integer> {
    @Mixin InventoryOptions inv;

    @Option(names = "--read-back", description = "Read every file back against its manifest's digests.")
    boolean readBack;

    @Option(names = "--timeout", defaultValue = "30", paramLabel = "SECONDS",
            description = "How long the agents get to answer, all together (default ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        List<FleetBackups.HostBackups> hosts = new FleetBackups(AgentChannels::fromDir, BackupStatus.timeout(timeoutSeconds))
                .ask(inv.load().clusters(), readBack);
        boolean ok = hosts.stream().allMatch(h -> h.error() == null
                && h.backups().stream().allMatch(b -> b.getTrusted() && b.getProblem().isEmpty()));
        if (inv.writeOut == InventoryOptions.OutputFormat.json) {
            List<Map<String, Object>> rows = new ArrayList<>();
            hosts.forEach(h -> {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("cluster", h.cluster());
                row.put("host", h.host());
                row.put("configured", h.configured());
                row.put("lastResult", h.lastResult());
                row.put("error", h.error());
                row.put("backups", h.backups().stream().map(BackupList::json).toList());
                rows.add(row);
            });
            System.out.println(JsonReporter.mapper().writeValueAsString(Map.of("hosts", rows, "ok", ok)));
            return ok ? ExitCodes.OK : ExitCodes.FAILED;
        }
        List<List<String>> cells = new ArrayList<>();
        for (FleetBackups.HostBackups h : hosts) {
            if (h.error() != null || !h.configured() || h.backups().isEmpty()) {
                cells.add(List.of(h.cluster(), h.host(), h.error() != null ? "(agent unreachable)" : !h.configured()
                        ? "(backups not configured)" : "(none yet)", "-", "-", "-", "-", "-", "-", h.error() != null ? h.error() : h.lastResult()));
                continue;
            }
            for (BackupEntry b : h.backups()) {
                cells.add(List.of(h.cluster(), holder(b, h.host()), b.getId(), b.getTrusted() ? Long.toString(b.getRevision()) : "-",
                        b.getTrusted() ? Long.toString(b.getTotalKeys()) : "-",
                        b.getTrusted() ? mib(b.getFileSize()) + " / " + mib(b.getSnapshotSize()) : "-",
                        b.getTrusted() ? b.getTakenAt() : "-", b.getTrusted() ? takenBy(b) : "-", drill(b), status(b, readBack)));
            }
        }
        Table.print(System.out, List.of("CLUSTER", "HOST", "BACKUP", "REVISION", "KEYS", "MIB STORED / SNAPSHOT", "TAKEN AT", "TAKEN BY",
                "LAST DRILL", "CHECK"), cells);
        return ok ? ExitCodes.OK : ExitCodes.FAILED;
    }

    private static String status(BackupEntry b, boolean readBack) {
        if (!b.getTrusted()) {
            return "NOT TRUSTED: " + b.getProblem();
        }
        if (!b.getProblem().isEmpty()) {
            return "READ BACK FAILED: " + b.getProblem();
        }
        return readBack ? "signed, read back ok" : "signed";
    }

    /** The host, or for a copy in object storage where it is: "s3://bucket/prefix (via HOST)". */
    static String holder(BackupEntry b, String host) {
        return b.getLocation().isEmpty() ? host : b.getLocation() + " (via " + host + ")";
    }

    /** The taker, or for a copy a peer pushed: "TAKER (copy since T)". */
    static String takenBy(BackupEntry b) {
        return b.getCopyFrom().isEmpty() ? b.getTakenBy() : b.getTakenBy() + " (copy since " + b.getCopiedAt().replaceFirst("\\.\\d+Z$", "Z") + ")";
    }

    private static String drill(BackupEntry b) {
        if (!b.hasLastDrill()) {
            return "-";
        }
        return (b.getLastDrill().getOk() ? "ok " : "FAILED ") + b.getLastDrill().getAt().replaceFirst("\\.\\d+Z$", "Z")
                + String.format(java.util.Locale.ROOT, " (%.1f s)", b.getLastDrill().getSeconds());
    }

    private static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f", bytes / 1048576.0);
    }

    static Map<String, Object> json(BackupEntry b) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", b.getId());
        m.put("trusted", b.getTrusted());
        m.put("problem", b.getProblem().isEmpty() ? null : b.getProblem());
        m.put("cluster", b.getCluster());
        m.put("clusterId", b.getClusterId());
        m.put("revision", b.getRevision());
        m.put("totalKeys", b.getTotalKeys());
        m.put("takenAt", b.getTakenAt());
        m.put("takenBy", b.getTakenBy());
        m.put("copyFrom", b.getCopyFrom().isEmpty() ? null : b.getCopyFrom());
        m.put("copiedAt", b.getCopiedAt().isEmpty() ? null : b.getCopiedAt());
        m.put("location", b.getLocation().isEmpty() ? null : b.getLocation());
        m.put("snapshotSize", b.getSnapshotSize());
        m.put("fileSize", b.getFileSize());
        m.put("etcdVersion", b.getEtcdVersion());
        m.put("hashKv", b.getHashKv());
        m.put("fileSha256", b.getFileSha256());
        m.put("readBackOk", b.getReadBackOk());
        m.put("lastDrill", b.hasLastDrill() ? BackupDrill.json(b.getLastDrill()) : null);
        return m;
    }
}
