package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.report.JsonReporter;
import dev.etcdrescue.coordinator.rollout.FleetStatus;
import dev.etcdrescue.coordinator.rollout.HostStatus;
import java.io.PrintStream;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = {"Shows the agent of every host: reachable, versions, tools, claim, phase.",
            "Read-only, over mTLS: agent version, host name, etcd version, restore tool and",
            "version, claim (operation, expiry), phase, last result, bytes received.",
            "An agent that cannot be reached is a row with the reason."},
        footer = {"", "Examples:", "  etcd-rescue status -i inventory.yaml",
            "  etcd-rescue status -i inventory.yaml --limit lv-etcd-research-beta -w json",
            "", "Exit codes: 0 every agent answered (as the host the inventory names),",
            "1 at least one did not, 2 bad input."})
public final class StatusCommand implements Callable<Integer> {
    private static final int LAST_RESULT_WIDTH = 60;

    @Mixin InventoryOptions inv;

    @Option(names = "--timeout", defaultValue = "10", paramLabel = "SECONDS",
            description = "How long the agents get to answer, all together (default ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        if (timeoutSeconds < 1) {
            throw new UserException(FailureKind.BAD_INPUT, "--timeout must be at least 1 second");
        }
        List<HostStatus> rows = new FleetStatus(AgentChannels::fromDir, Duration.ofSeconds(timeoutSeconds))
                .probe(inv.load().clusters());
        boolean allOk = rows.stream().allMatch(HostStatus::ok);
        if (inv.writeOut == InventoryOptions.OutputFormat.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("hosts", rows);
            doc.put("allReachable", allOk);
            System.out.println(JsonReporter.mapper().writeValueAsString(doc));
        } else {
            printTable(System.out, rows);
        }
        return allOk ? ExitCodes.OK : ExitCodes.FAILED;
    }

    static void printTable(PrintStream out, List<HostStatus> rows) {
        List<String> header = List.of("CLUSTER", "HOST", "AGENT ENDPOINT", "REACHABLE", "AGENT VERSION", "ETCD VERSION",
                "RESTORE TOOL", "CLAIM", "PHASE", "RECEIVED", "LAST RESULT", "ERRORS");
        List<List<String>> cells = new ArrayList<>();
        for (HostStatus h : rows) {
            cells.add(List.of(h.cluster(), h.host(), h.endpoint(), h.reachable() ? "yes" : "no", dash(h.agentVersion()),
                    dash(h.etcdVersion()), tool(h.restoreTool()), claim(h.claim()), dash(h.phase()),
                    h.reachable() ? received(h.bytesReceived(), h.bytesExpected()) : "-", shorten(dash(h.lastResult())),
                    h.error() == null ? "" : h.error()));
        }
        Table.print(out, header, cells);
    }

    private static String dash(String s) {
        return s == null || s.isEmpty() ? "-" : s;
    }

    private static String tool(HostStatus.RestoreTool t) {
        return t == null ? "-" : t.kind() + " " + t.version();
    }

    private static String claim(HostStatus.Claim c) {
        return c == null ? "-" : c.operationId() + " until " + c.validUntil().truncatedTo(ChronoUnit.SECONDS);
    }

    private static String received(long bytes, long expected) {
        return expected > 0 ? bytes + "/" + expected : Long.toString(bytes);
    }

    /** The table keeps one line per host; -w json has the whole sentence. */
    private static String shorten(String s) {
        String oneLine = s.replace('\n', ' ');
        return oneLine.length() <= LAST_RESULT_WIDTH ? oneLine : oneLine.substring(0, LAST_RESULT_WIDTH - 3) + "...";
    }
}
