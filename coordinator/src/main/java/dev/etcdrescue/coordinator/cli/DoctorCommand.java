package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.member.ClusterLook;
import dev.etcdrescue.coordinator.member.ClusterView;
import dev.etcdrescue.coordinator.member.Verdict;
import dev.etcdrescue.coordinator.report.JsonReporter;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Says what state each cluster is in and which command fits. Read-only.",
            "Per member: does it answer, its leader, revision, raft index, learner or not; per host: its agent and the",
            "member's units. Per cluster: the member list, quorum, leader, alarms, revision spread. Then the verdict:",
            "nothing to do, 'replace-member NAME' (one member down, quorum holds), or 'recover' (quorum lost),",
            "with the command line to type."},
        footer = {"", "Examples:", "  etcd-rescue doctor -i inventory.yaml", "  etcd-rescue doctor -i inventory.yaml -o json",
            "", "Exit codes (the gravest cluster's): 0 healthy, 10 replace-member fits, 11 needs a person (learner, alarm,",
            "a loss no command repairs safely), 12 recover fits (quorum lost), 2 bad input."})
public final class DoctorCommand implements Callable<Integer> {
    @Mixin InventoryOptions inv;

    @Override
    public Integer call() throws Exception {
        List<ClusterPlan> clusters = inv.load().clusters();
        Map<String, Object> doc = new LinkedHashMap<>();
        List<Map<String, Object>> out = new ArrayList<>();
        Verdict.Kind worst = Verdict.Kind.HEALTHY;
        for (ClusterPlan plan : clusters) {
            ClusterView view = new ClusterLook(AgentChannels.fromDir(plan.tlsDir()),
                    new EtcdClients(Duration.ofSeconds(5), plan.etcdAccess()), Duration.ofSeconds(5)).look(plan);
            Verdict verdict = Verdict.of(view, inv.inventory.toString());
            worst = verdict.kind().compareTo(worst) > 0 ? verdict.kind() : worst;
            if (inv.writeOut == InventoryOptions.OutputFormat.json) {
                Map<String, Object> c = new LinkedHashMap<>();
                c.put("view", view);
                c.put("verdict", verdict);
                out.add(c);
            } else {
                print(System.out, view, verdict);
            }
        }
        int code = exitCode(worst);
        if (inv.writeOut == InventoryOptions.OutputFormat.json) {
            doc.put("clusters", out);
            doc.put("verdict", worst);
            doc.put("exitCode", code);
            System.out.println(JsonReporter.mapper().writeValueAsString(doc));
        }
        return code;
    }

    static int exitCode(Verdict.Kind kind) {
        return switch (kind) {
            case HEALTHY -> ExitCodes.OK;
            case REPLACE_MEMBER -> ExitCodes.DOCTOR_REPLACE_MEMBER;
            case ATTENTION -> ExitCodes.DOCTOR_ATTENTION;
            case RECOVER -> ExitCodes.DOCTOR_RECOVER;
        };
    }

    private static void print(PrintStream out, ClusterView view, Verdict verdict) {
        out.println("CLUSTER " + view.cluster());
        List<List<String>> cells = new ArrayList<>();
        for (ClusterView.HostRow h : view.hosts()) {
            cells.add(List.of(h.host(), h.etcdName(), h.answers() ? (h.learner() ? "learner" : "yes") : "no",
                    h.answers() ? Long.toString(h.revision()) : "-", h.answers() ? Long.toString(h.raftIndex()) : "-",
                    h.etcdError() == null ? "" : h.etcdError(),
                    h.agentReachable() ? "yes" : "no",
                    h.agentReachable() ? h.agentPhase() + (h.agentClaim() == null ? "" : " (" + h.agentClaim() + ")") : h.agentError(),
                    units(h)));
        }
        Table.print(out, List.of("HOST", "MEMBER", "ANSWERS", "REVISION", "RAFT INDEX", "ETCD ERROR", "AGENT", "AGENT STATE", "UNITS"), cells);
        out.println("  member list (from " + (view.memberListFrom() == null ? "no member" : view.memberListFrom()) + "): "
                + view.members().stream().map(m -> m.name() + (m.learner() ? " (learner)" : "") + (m.healthy() ? "" : " DOWN")).toList());
        out.println("  quorum: " + view.quorum().healthyVoters() + " of " + view.quorum().voters() + " voting members healthy, "
                + view.quorum().needed() + " needed: " + (view.quorum().holds() ? "holds" : "LOST"));
        out.println("  leader: " + (view.leader() == null ? "none" : view.leader()));
        out.println("  alarms: " + (view.alarms().isEmpty() ? "none" : String.join(", ", view.alarms())));
        out.println("  revisions: " + view.minRevision() + (view.maxRevision() == view.minRevision() ? "" : " to " + view.maxRevision()));
        out.println("VERDICT " + view.cluster() + ": " + switch (verdict.kind()) {
            case HEALTHY -> "nothing to do";
            case REPLACE_MEMBER -> "replace-member " + verdict.member();
            case ATTENTION -> "needs attention";
            case RECOVER -> "recover";
        } + " (" + verdict.reason() + ")");
        if (verdict.command() != null) {
            out.println("  " + verdict.command());
        }
    }

    private static String units(ClusterView.HostRow h) {
        List<String> parts = new ArrayList<>();
        h.units().forEach((unit, state) -> parts.add(unit + " " + state));
        return String.join(", ", parts);
    }
}
