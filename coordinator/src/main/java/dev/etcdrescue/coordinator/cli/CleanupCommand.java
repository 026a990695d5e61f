package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.engine.Recovery;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.report.JsonReporter;
import dev.etcdrescue.proto.v1.CleanupReply;
import dev.etcdrescue.proto.v1.CleanupRequest;
import dev.etcdrescue.proto.v1.OperationHeader;
import java.io.Console;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "cleanup", mixinStandardHelpOptions = true,
        description = {"Lists what recoveries and rollbacks left aside on every host; removes it only with --remove.",
            "Recoveries and rollbacks never delete: they leave moved-aside data dirs, env files and units",
            "(*.etcd-rescue-<operation>), rolled-back copies (*.rolled-back-<operation>) and staged snapshots.",
            "--remove deletes them after confirmation."},
        footer = {"", "Examples:", "  etcd-rescue cleanup -i inventory.yaml", "  etcd-rescue cleanup -i inventory.yaml --remove --yes",
            "", "Exit codes: 0 done, 1 a host failed, 2 bad input or not confirmed."})
public final class CleanupCommand implements Callable<Integer> {
    @Mixin InventoryOptions inv;

    @Option(names = "--remove", description = "Remove what is listed (asks first on a terminal; needs --yes without one).")
    boolean remove;

    @Option(names = {"-y", "--yes"}, description = "Do not ask.")
    boolean yes;

    record HostLeftovers(String cluster, String host, List<String> leftovers, List<String> removed, String error) {}

    @Override
    public Integer call() throws Exception {
        List<ClusterPlan> clusters = inv.load().clusters();
        if (remove && !yes) {
            Console console = System.console();
            if (console == null) {
                throw new UserException(FailureKind.BAD_INPUT,
                        "cleanup --remove deletes files on every host; without a terminal to confirm on, pass --yes");
            }
            String answer = console.readLine("Remove every leftover on the hosts of %d cluster(s)? [y/N] ", clusters.size());
            if (answer == null || !answer.strip().equalsIgnoreCase("y")) {
                throw new UserException(FailureKind.BAD_INPUT, "not confirmed: nothing was removed");
            }
        }
        String op = "cleanup-" + Recovery.newOperationId();
        List<HostLeftovers> all = new ArrayList<>();
        for (ClusterPlan plan : clusters) {
            AgentChannels channels = AgentChannels.fromDir(plan.tlsDir());
            for (MemberPlan m : plan.members()) {
                all.add(oneHost(channels, plan, m, op));
            }
        }
        if (inv.writeOut == InventoryOptions.OutputFormat.json) {
            System.out.println(JsonReporter.mapper().writeValueAsString(all));
        } else {
            for (HostLeftovers h : all) {
                System.out.printf("[%s] %s%n", h.host(), h.error() != null ? "FAILED: " + h.error()
                        : h.leftovers().isEmpty() ? "nothing left aside" : h.leftovers().size() + " left aside:");
                h.leftovers().forEach(l -> System.out.printf("  %s%n", l));
                h.removed().forEach(r -> System.out.printf("  removed %s%n", r));
            }
            if (!remove && all.stream().anyMatch(h -> !h.leftovers().isEmpty())) {
                System.out.println("Nothing was removed; remove them with: etcd-rescue cleanup -i " + inv.inventory + " --remove");
            }
        }
        return all.stream().anyMatch(h -> h.error() != null) ? ExitCodes.FAILED : ExitCodes.OK;
    }

    private HostLeftovers oneHost(AgentChannels channels, ClusterPlan plan, MemberPlan m, String op) {
        OperationHeader header = OperationHeader.newBuilder().setClusterName(plan.name()).setOperationId(op).setHostName(m.hostName()).build();
        try (AgentClient agent = channels.connect(m.agentEndpoint())) {
            if (remove) {
                agent.claim(header, Duration.ofMinutes(2));
            }
            try {
                CleanupReply r = agent.cleanup(CleanupRequest.newBuilder().setHeader(header).setRemove(remove).build());
                List<String> listed = r.getLeftoversList().stream()
                        .map(l -> String.format("%-17s %10d bytes  %s", l.getKind(), l.getBytes(), l.getPath())).toList();
                return new HostLeftovers(plan.name(), m.hostName(), listed, r.getRemovedList(), null);
            } finally {
                if (remove) {
                    agent.releaseClaim(header);
                }
            }
        } catch (RuntimeException e) {
            return new HostLeftovers(plan.name(), m.hostName(), List.of(), List.of(), e.getMessage());
        }
    }
}
