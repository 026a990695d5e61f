package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.agent.AgentEndpoint;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.inventory.SnapshotSource;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import dev.etcdrescue.coordinator.snapshot.SnapshotTaker;
import dev.etcdrescue.proto.v1.Finding;
import dev.etcdrescue.proto.v1.PreflightReport;
import dev.etcdrescue.proto.v1.PreflightRequest;
import dev.etcdrescue.proto.v1.RenderedPlan;
import dev.etcdrescue.proto.v1.Severity;
import dev.etcdrescue.proto.v1.ToolInfo;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.Locale;

/**
 * The dry run: asks every agent to render what it would run and write (the same code that acts
 * renders it), without claiming or changing anything.
 */
public final class Planner {
    private final AgentChannels channels;
    private final EtcdClients etcd;

    public Planner(AgentChannels channels, EtcdClients etcd) {
        this.channels = channels;
        this.etcd = etcd;
    }

    /** What one host would get. {@code error} is set when the agent could not be asked. */
    public record HostPlan(String host, String agent, String etcdVersion, String restoreTool, List<String> restoreCommand,
                           String dataDir, String dataDirMovedAsideTo, String envFile, String envFileContent,
                           String currentEnvFileContent, String unitFile, String unitFileContent, String currentUnitFileContent,
                           List<String> ports, List<String> systemctl, List<UnitActions.Action> unitActions, List<String> findings,
                           List<String> carriedOver, boolean refused, String error, String oldLayout, List<String> oldSettings) {}

    /**
     * @param bump the revision bump as recover decides it for the whole cluster (one sentence)
     * @param bumpRevision what every host's restore adds to every revision (0: none)
     * @param bumpRefused recover would refuse the bump asked for
     */
    public record ClusterDryRun(String cluster, String source, String bump, long bumpRevision, boolean bumpRefused, String fence,
                                List<HostPlan> hosts) {
        public boolean refused() {
            return bumpRefused || hosts.stream().anyMatch(HostPlan::refused);
        }
    }

    public ClusterDryRun plan(ClusterPlan plan, RecoveryOptions options) {
        Source source = describeSource(plan);
        String operation = "plan-" + Recovery.newOperationId();
        Map<String, Map<String, String>> envs = new LinkedHashMap<>();
        Map<String, String> files = new LinkedHashMap<>();
        Map<String, Map<String, String>> sources = new LinkedHashMap<>();
        Map<String, List<String>> oldMembers = new LinkedHashMap<>();
        Map<String, String> versions = new LinkedHashMap<>();
        Map<String, ToolInfo> tools = new LinkedHashMap<>();
        for (MemberPlan m : plan.members()) {
            oldEnv(plan, m, operation).ifPresent(r -> {
                versions.put(m.hostName(), r.getStatus().getEtcdVersion());
                tools.put(m.hostName(), r.getStatus().getRestoreTool());
                Map<String, String> env = new LinkedHashMap<>();
                Map<String, String> from = new LinkedHashMap<>();
                List<String> shown = new ArrayList<>();
                r.getBaseEnvList().forEach(e -> {
                    env.put(e.getKey(), e.getValue());
                    from.put(e.getKey(), e.getSource());
                    shown.add(e.getKey() + "=" + e.getValue() + (e.getSource().isEmpty() ? "" : "  [" + e.getSource() + "]"));
                });
                envs.put(m.hostName(), env);
                sources.put(m.hostName(), from);
                files.put(m.hostName(), r.getBaseLayout().isEmpty() ? r.getBaseEnvFile() : r.getBaseLayout());
                oldMembers.put(m.hostName(), shown);
            });
        }
        Optional<MemberPlan> sourceHost = CarryOver.sourceHost(plan, source.endpoint(), envs);
        Fence.Decision fence = Fence.decide(plan, options, envs.values(),
                plan.snapshot() instanceof SnapshotSource.Endpoints e ? e.endpoints() : List.of());
        int fencePort = fence.port();
        // One bump for the cluster, as preflight decides it; a host the agent could not be asked about is refused below.
        RevisionBump.Decision bump = RevisionBump.decide(options.bumpRevision(), tools);
        List<HostPlan> hosts = new ArrayList<>();
        for (MemberPlan m : plan.members()) {
            CarryOver.Planned planned = CarryOver.planned(m, CarryOver.of(plan, m, CarryOver.envFor(m, envs, files, sources, sourceHost),
                    fencePort), versions.getOrDefault(m.hostName(), ""));
            hosts.add(hostPlan(plan, planned.member(), options, fencePort, bump.bump(), operation, planned,
                    files.getOrDefault(m.hostName(), ""), oldMembers.getOrDefault(m.hostName(), List.of())));
        }
        return new ClusterDryRun(plan.name(), source.text(), (bump.refused() ? "REFUSED: " : "") + bump.why(), bump.bump(),
                bump.refused(), fence.why(), hosts);
    }

    /** The snapshot source as the recovery would choose it; {@code endpoint} is null for a file or when none answers. */
    private record Source(String text, URI endpoint) {}

    private Source describeSource(ClusterPlan plan) {
        if (plan.snapshot() instanceof SnapshotSource.File f) {
            return new Source("file " + f.path(), null);
        }
        if (plan.snapshot() instanceof SnapshotSource.Backup b) {
            return new Source("backup " + b.which(), null);
        }
        var probe = new SnapshotTaker(etcd, Duration.ofSeconds(3)).probe(((SnapshotSource.Endpoints) plan.snapshot()).endpoints());
        return probe.best().map(s -> new Source(String.format(Locale.ROOT, "%s (etcd %s, revision %d, db %d bytes%s)", s.endpoint(),
                        s.version(), s.revision(), s.dbSize(), s.seesLeader() ? ", STILL SEES A LEADER: recover would refuse" : ""),
                        s.endpoint()))
                .orElse(new Source("no old member answers at " + probe.unreachable().keySet() + ": recover would refuse", null));
    }

    /** The old member's env file as the host's agent reads it; empty when the agent cannot be asked (hostPlan says why). */
    private Optional<PreflightReport> oldEnv(ClusterPlan plan, MemberPlan m, String operation) {
        try (AgentClient agent = channels.connect(m.agentEndpoint())) {
            return Optional.of(agent.preflight(request(plan, m, m, operation, 0)));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    private HostPlan hostPlan(ClusterPlan plan, MemberPlan m, RecoveryOptions options, int fencePort, long bump, String operation,
                              CarryOver.Planned carried, String oldLayout, List<String> oldSettings) {
        AgentEndpoint endpoint = m.agentEndpoint();
        MemberPlan running = fencePort > 0 ? Fence.fenced(m, fencePort) : m;
        List<UnitActions.Action> actions = UnitActions.of(m, fencePort > 0, options.keepOld(), List.of());
        List<String> systemctl = actions.stream().map(UnitActions.Action::line).toList();
        try (AgentClient agent = channels.connect(endpoint)) {
            // Rendered exactly as configure will write it first (behind the fence), without a bump...
            PreflightReport r = agent.preflight(request(plan, m, running, operation, 0));
            var tool = r.getStatus().getRestoreTool();
            // ...then with the cluster's bump the restore will use, for its exact command line and refusals.
            PreflightReport withBump = bump > 0 ? agent.preflight(request(plan, m, running, operation, bump)) : r;
            // ...and the planned client port, which the member takes over at release, must be free as well.
            PreflightReport planned = running != m ? agent.preflight(request(plan, m, m, operation, 0)) : r;
            RenderedPlan p = r.getPlan();
            List<String> findings = new ArrayList<>();
            boolean refused = false;
            for (Finding f : withBump.getFindingsList()) {
                findings.add(f.getSeverity().name() + " " + f.getCode() + (f.getField().isEmpty() ? "" : " (" + f.getField() + ")")
                        + ": " + f.getMessage());
                refused |= f.getSeverity() == Severity.ERROR;
            }
            for (String error : carried.errors()) {
                findings.add("ERROR carry-over: " + error);
                refused = true;
            }
            Set<String> ports = new LinkedHashSet<>();
            List<dev.etcdrescue.proto.v1.PortCheck> checks = new ArrayList<>(r.getPortsList());
            checks.addAll(planned.getPortsList());
            for (var pc : checks) {
                ports.add(pc.getAddress() + ":" + pc.getPort() + (pc.getFree() ? " free"
                        : pc.getHeldByOldMember() ? " held by the old member: freed by stop-old" : " IN USE"));
            }
            InPlace.Ports inPlace = InPlace.of(checks);
            refused |= !inPlace.busy().isEmpty();
            if (!inPlace.freed().isEmpty()) {
                findings.add("INFO " + InPlace.describe(m.oldUnit(), inPlace.freed()));
                actions = UnitActions.of(m, fencePort > 0, options.keepOld(), inPlace.freed());
                systemctl = actions.stream().map(UnitActions.Action::line).toList();
            }
            return new HostPlan(m.hostName(), endpoint.toString(), r.getStatus().getEtcdVersion(),
                    tool.getKind().name().toLowerCase(Locale.ROOT) + " " + tool.getVersion(), withBump.getPlan().getRestoreCommandList(),
                    p.getDataDir(), p.getDataDirMovedAsideTo(), p.getEnvFile(), p.getEnvFileContent(), p.getCurrentEnvFileContent(),
                    p.getUnitFile(), p.getUnitFileContent(), p.getCurrentUnitFileContent(), List.copyOf(ports), systemctl, actions, findings,
                    carried.lines(), refused, null, oldLayout, oldSettings);
        } catch (RuntimeException e) {
            return new HostPlan(m.hostName(), endpoint.toString(), null, null, List.of(), m.dataDir(), "", "", "", "", "", "", "",
                    List.of(), systemctl, actions, List.of(), carried.lines(), true, AgentError.describe(e, endpoint.toString()),
                    oldLayout, oldSettings);
        }
    }

    private static PreflightRequest request(ClusterPlan plan, MemberPlan m, MemberPlan running, String operation, long bump) {
        return PreflightRequest.newBuilder()
                .setHeader(dev.etcdrescue.proto.v1.OperationHeader.newBuilder().setClusterName(plan.name())
                        .setOperationId(operation).setHostName(m.hostName()))
                .setMember(MemberSpecs.of(plan, running)).setNewUnit(m.newUnit()).setBaseUnit(m.baseUnit())
                .addAllExtra(MemberSpecs.extras(m)).setBumpRevision(bump)
                // As RestorePhase: every snapshot that gets past the snapshot phase is restored without the tool's hash pass.
                .setSkipHashCheck(RestorePhase.skipHashCheck(SnapshotDigest.Trailer.VALID)).build();
    }
}
