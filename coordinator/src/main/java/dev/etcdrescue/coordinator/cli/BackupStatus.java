package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.backup.FleetBackups;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.report.JsonReporter;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = {"Per cluster: the newest backup whose signed manifest holds, where it is, and its age (the",
            "recovery point you would get now), with how many hosts have backups configured and the last drill.",
            "With --max-age, exits 1 when a cluster's newest trusted backup is older, or it has none."},
        footer = {"", "Examples:", "  etcd-rescue backup status -i inventory.yaml",
            "  etcd-rescue backup status -i inventory.yaml --max-age PT1H -o json",
            "", "Exit codes: 0 every cluster has a trusted backup (younger than --max-age when given),",
            "1 otherwise or an agent did not answer, 2 bad input."})
final class BackupStatus implements Callable<Integer> {
    @Mixin InventoryOptions inv;

    @Option(names = "--max-age", paramLabel = "DURATION",
            description = "Fail when a cluster's newest trusted backup is older than this (ISO-8601, like PT1H or P1D).")
    String maxAge;

    @Option(names = "--timeout", defaultValue = "30", paramLabel = "SECONDS",
            description = "How long the agents get to answer, all together (default ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    static Duration timeout(long seconds) {
        if (seconds < 1) {
            throw new UserException(FailureKind.BAD_INPUT, "--timeout must be at least 1 second");
        }
        return Duration.ofSeconds(seconds);
    }

    @Override
    public Integer call() throws Exception {
        Duration limit = null;
        if (maxAge != null) {
            try {
                limit = Duration.parse(maxAge);
            } catch (DateTimeParseException e) {
                throw new UserException(FailureKind.BAD_INPUT, "--max-age must be an ISO-8601 duration like PT1H or P1D, not " + maxAge);
            }
        }
        List<FleetBackups.HostBackups> hosts = new FleetBackups(AgentChannels::fromDir, timeout(timeoutSeconds))
                .ask(inv.load().clusters(), false);
        List<FleetBackups.ClusterBackups> clusters = FleetBackups.summarize(hosts, Instant.now());
        boolean allAnswered = hosts.stream().allMatch(h -> h.error() == null);
        List<String> late = new ArrayList<>();
        for (FleetBackups.ClusterBackups c : clusters) {
            if (c.newest().isEmpty()) {
                late.add(c.cluster() + ": no trusted backup");
            } else if (limit != null && c.age().orElseThrow().compareTo(limit) > 0) {
                late.add(c.cluster() + ": newest trusted backup is " + age(c.age().orElseThrow()) + " old, more than " + maxAge);
            }
        }
        boolean ok = late.isEmpty() && allAnswered;
        if (inv.writeOut == InventoryOptions.OutputFormat.json) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (FleetBackups.ClusterBackups c : clusters) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("cluster", c.cluster());
                row.put("hosts", c.hostsAsked());
                row.put("hostsConfigured", c.hostsConfigured());
                row.put("trusted", c.trusted());
                row.put("untrusted", c.untrusted());
                row.put("newest", c.newest().map(BackupList::json).orElse(null));
                row.put("ageSeconds", c.age().map(Duration::toSeconds).orElse(null));
                row.put("lastDrill", c.lastDrill().map(BackupDrill::json).orElse(null));
                rows.add(row);
            }
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("clusters", rows);
            doc.put("problems", late);
            doc.put("unreachable", hosts.stream().filter(h -> h.error() != null).map(h -> h.host() + ": " + h.error()).toList());
            doc.put("ok", ok);
            System.out.println(JsonReporter.mapper().writeValueAsString(doc));
        } else {
            List<List<String>> cells = new ArrayList<>();
            for (FleetBackups.ClusterBackups c : clusters) {
                cells.add(List.of(c.cluster(), c.hostsConfigured() + " of " + c.hostsAsked(), Integer.toString(c.trusted()),
                        c.newest().map(b -> b.getId()).orElse("-"), c.newest().map(b -> b.getTakenBy()).orElse("-"),
                        c.age().map(BackupStatus::age).orElse("-"), c.lastDrill().map(d -> (d.getOk() ? "ok " : "FAILED ") + d.getId()
                                + " at " + d.getAt().replaceFirst("\\.\\d+Z$", "Z")).orElse("-")));
            }
            Table.print(System.out, List.of("CLUSTER", "HOSTS CONFIGURED", "TRUSTED", "NEWEST", "ON", "AGE", "LAST DRILL"), cells);
            hosts.stream().filter(h -> h.error() != null).forEach(h -> System.out.println("unreachable: " + h.host() + ": " + h.error()));
            late.forEach(l -> System.out.println("PROBLEM: " + l));
        }
        return ok ? ExitCodes.OK : ExitCodes.FAILED;
    }

    static String age(Duration d) {
        long s = Math.max(0, d.toSeconds());
        return s < 120 ? s + "s" : s < 7200 ? String.format(Locale.ROOT, "%dm", s / 60) : String.format(Locale.ROOT, "%.1fh", s / 3600.0);
    }
}
