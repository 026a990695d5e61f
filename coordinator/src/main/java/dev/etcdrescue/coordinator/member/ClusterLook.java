package dev.etcdrescue.coordinator.member;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.member.ClusterView.EtcdMember;
import dev.etcdrescue.coordinator.member.ClusterView.HostRow;
import dev.etcdrescue.coordinator.member.ClusterView.Quorum;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import dev.etcdrescue.coordinator.snapshot.SnapshotTaker;
import dev.etcdrescue.coordinator.snapshot.SourceMember;
import dev.etcdrescue.proto.v1.AgentStatus;
import dev.etcdrescue.proto.v1.UnitState;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.cluster.Member;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Looks at a running cluster: every member's Status (the same probe the snapshot phase uses), etcd's member
 * list and alarms, and every host's agent (its status and the states of the member's units). Read-only.
 */
public final class ClusterLook {
    private final AgentChannels agents;
    private final EtcdClients clients;
    private final Duration timeout;

    public ClusterLook(AgentChannels agents, EtcdClients clients, Duration timeout) {
        this.agents = agents;
        this.clients = clients;
        this.timeout = timeout;
    }

    public ClusterView look(ClusterPlan plan) {
        EtcdClients forPlan = clients.with(plan.etcdAccess());
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, plan.members().size()), r -> {
            Thread t = new Thread(r, "look");
            t.setDaemon(true);
            return t;
        });
        try {
            Map<MemberPlan, CompletableFuture<AgentAnswer>> asked = new LinkedHashMap<>();
            for (MemberPlan m : plan.members()) {
                asked.put(m, CompletableFuture.supplyAsync(() -> askAgent(m), pool));
            }
            SnapshotTaker taker = new SnapshotTaker(forPlan, timeout);
            Set<URI> urls = new LinkedHashSet<>();
            plan.members().forEach(m -> urls.add(m.clientUrls().get(0)));
            SnapshotTaker.Probe probe = taker.probe(List.copyOf(urls));
            Map<URI, SourceMember> answered = new LinkedHashMap<>();
            probe.alive().forEach(s -> answered.put(s.endpoint(), s));
            Listing listing = listing(forPlan, probe);
            // Members of etcd's list the inventory does not name: asked too, so their health is known.
            List<URI> extra = new ArrayList<>();
            listing.members().forEach(m -> m.getClientURIs().stream().findFirst().filter(u -> !urls.contains(u)).ifPresent(extra::add));
            if (!extra.isEmpty()) {
                taker.probe(extra).alive().forEach(s -> answered.put(s.endpoint(), s));
            }
            List<HostRow> rows = new ArrayList<>();
            for (MemberPlan m : plan.members()) {
                URI url = m.clientUrls().get(0);
                AgentAnswer agent = asked.get(m).join();
                SourceMember s = answered.get(url);
                String etcdError = s == null ? probe.unreachable().getOrDefault(url, "no answer")
                        : s.errors().isEmpty() ? (s.seesLeader() ? null : "no leader") : String.join("; ", s.errors());
                rows.add(new HostRow(m.hostName(), m.etcdName(), url.toString(), s != null, etcdError, s == null ? null : s.version(),
                        s == null ? 0 : s.revision(), s == null ? 0 : s.raftIndex(), s == null ? 0 : s.dbSize(),
                        s == null ? 0 : s.memberId(), s != null && s.learner(), s != null && s.seesLeader(),
                        agent.reachable(), agent.error(), agent.phase(), agent.claim(), agent.units()));
            }
            return view(plan.name(), rows, listing, answered);
        } finally {
            pool.shutdownNow();
        }
    }

    private static ClusterView view(String cluster, List<HostRow> rows, Listing listing, Map<URI, SourceMember> answered) {
        Set<Long> healthyIds = new HashSet<>();
        Set<Long> leaders = new HashSet<>();
        long min = Long.MAX_VALUE;
        long max = 0;
        for (SourceMember s : answered.values()) {
            if (s.seesLeader() && s.errors().isEmpty()) {
                healthyIds.add(s.memberId());
                leaders.add(s.leaderId());
            }
            min = Math.min(min, s.revision());
            max = Math.max(max, s.revision());
        }
        List<EtcdMember> members = new ArrayList<>();
        String leaderName = null;
        for (Member m : listing.members()) {
            members.add(new EtcdMember(Long.toHexString(m.getId()), m.getName(), m.getPeerURIs().stream().map(URI::toString).toList(),
                    m.getClientURIs().stream().map(URI::toString).toList(), m.isLearner(), healthyIds.contains(m.getId())));
            if (leaders.size() == 1 && leaders.contains(m.getId())) {
                leaderName = m.getName();
            }
        }
        int voters = (int) members.stream().filter(m -> !m.learner()).count();
        int healthyVoters = (int) members.stream().filter(m -> !m.learner() && m.healthy()).count();
        boolean holds = voters > 0 && healthyVoters >= Quorum.of(voters) && leaderName != null;
        return new ClusterView(cluster, rows, members, listing.from(), listing.alarms(), leaderName,
                new Quorum(voters, healthyVoters, Quorum.of(Math.max(voters, 1)), holds), answered.isEmpty() ? 0 : min, max);
    }

    private record Listing(List<Member> members, List<String> alarms, String from) {}

    /** The member list and alarms from a member that sees a leader; else from any member that answers (its own view). */
    private Listing listing(EtcdClients forPlan, SnapshotTaker.Probe probe) {
        List<SourceMember> order = new ArrayList<>(probe.alive().stream().filter(SourceMember::seesLeader).toList());
        probe.alive().stream().filter(s -> !s.seesLeader()).forEach(order::add);
        for (SourceMember s : order) {
            try (Client c = forPlan.forSurvivor(s.endpoint())) {
                List<Member> members = c.getClusterClient().listMember().get(timeout.toMillis(), TimeUnit.MILLISECONDS).getMembers();
                List<String> alarms = new ArrayList<>();
                if (s.seesLeader()) {
                    c.getMaintenanceClient().listAlarms().get(timeout.toMillis(), TimeUnit.MILLISECONDS).getAlarms()
                            .forEach(a -> alarms.add(a.getAlarmType() + " on member " + Long.toHexString(a.getMemberId())));
                }
                return new Listing(members, alarms, s.endpoint().toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (Exception e) {
                // the next member that answered
            }
        }
        return new Listing(List.of(), List.of(), null);
    }

    private record AgentAnswer(boolean reachable, String error, String phase, String claim, Map<String, String> units) {}

    private AgentAnswer askAgent(MemberPlan m) {
        try (AgentClient agent = agents.connect(m.agentEndpoint())) {
            AgentStatus s = agent.status();
            String error = s.getHostName().equals(m.hostName()) ? null
                    : "the agent answers as '" + s.getHostName() + "', not '" + m.hostName() + "'";
            Map<String, String> units = new LinkedHashMap<>();
            for (String unit : new LinkedHashSet<>(List.of(m.oldUnit(), m.newUnit()))) {
                UnitState u = agent.inspectUnit(unit);
                units.put(unit, u.getExists() ? u.getActiveState() + "/" + u.getUnitFileState() : "absent");
            }
            String claim = s.hasClaim() && !s.getClaim().getOperationId().isEmpty() ? s.getClaim().getOperationId() : null;
            return new AgentAnswer(true, error, s.getPhase().name(), claim, units);
        } catch (RuntimeException e) {
            return new AgentAnswer(false, AgentError.describe(e, m.agentEndpoint().toString()), null, null, Map.of());
        }
    }

    /** True when {@code state} (as {@link HostRow#units()} has it) is a running or starting unit. */
    public static boolean running(String state) {
        return state != null && (state.startsWith("active/") || state.startsWith("activating/") || state.startsWith("reloading/"));
    }

    /** The first unit of the row that runs, if any. */
    public static Optional<String> runningUnit(HostRow row) {
        return row.units().entrySet().stream().filter(e -> running(e.getValue())).map(Map.Entry::getKey).findFirst();
    }
}
