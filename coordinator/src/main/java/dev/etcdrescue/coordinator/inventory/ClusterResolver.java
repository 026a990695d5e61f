package dev.etcdrescue.coordinator.inventory;

import static dev.etcdrescue.coordinator.inventory.Variables.*;

import dev.etcdrescue.coordinator.inventory.HostVariables.Located;
import dev.etcdrescue.coordinator.inventory.MemberResolver.Resolved;
import dev.etcdrescue.coordinator.inventory.RawInventory.Cluster;
import dev.etcdrescue.coordinator.inventory.RawInventory.Host;
import dev.etcdrescue.coordinator.inventory.RawInventory.Setting;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/** Builds one {@link ClusterPlan}: the cluster-level variables, every member, and the checks across members. */
final class ClusterResolver {
    private static final Pattern TOKEN_RULE = Pattern.compile("[A-Za-z0-9._-]{1,128}");

    private final Cluster cluster;
    private final Path baseDir;
    private final Problems problems;
    /** Every host's canonical address in the whole inventory, to name the owner of a misplaced URL. */
    private final Map<String, String> addressOwners;

    ClusterResolver(Cluster cluster, Path baseDir, Problems problems, Map<String, String> addressOwners) {
        this.cluster = cluster;
        this.baseDir = baseDir;
        this.problems = problems;
        this.addressOwners = addressOwners;
    }

    Optional<ClusterPlan> resolve() {
        int before = problems.size();
        List<HostVariables> hosts = new ArrayList<>();
        for (Host host : cluster.hosts()) {
            hosts.add(new HostVariables(cluster.name(), host, problems));
        }
        if (hosts.isEmpty()) {
            return Optional.empty();
        }
        for (String name : CLUSTER_LEVEL) {
            checkSameForAll(hosts, name);
        }
        HostVariables first = hosts.get(0);
        String token = token(first);
        SnapshotSource snapshot = snapshot(first);
        Path tlsDir = first.string(TLS_DIR).map(t -> resolvePath(t.value())).orElse(resolvePath(DEFAULT_TLS_DIR));

        List<Resolved> members = new ArrayList<>();
        for (HostVariables vars : hosts) {
            MemberResolver.resolve(vars).ifPresent(members::add);
        }
        checkAcrossMembers(members);
        if (problems.size() > before) {
            return Optional.empty();
        }
        return Optional.of(new ClusterPlan(cluster.name(), token, snapshot, tlsDir,
                members.stream().map(Resolved::plan).toList()));
    }

    private void checkSameForAll(List<HostVariables> hosts, String name) {
        HostVariables reference = hosts.get(0);
        String expected = fingerprint(reference.setting(name));
        for (HostVariables other : hosts.subList(1, hosts.size())) {
            String actual = fingerprint(other.setting(name));
            if (!actual.equals(expected)) {
                other.problem(other.lineOf(name), name, "is " + shown(actual) + " here but " + shown(expected) + " for host "
                        + reference.hostName() + " (" + problems.where(reference.lineOf(name)) + "): " + name
                        + " is shared by the whole cluster; set it once in the cluster group's vars");
            }
        }
    }

    private static String shown(String fingerprint) {
        return fingerprint.isEmpty() ? "not set" : "'" + fingerprint + "'";
    }

    /** The value as written, for comparing; lists as their items joined. */
    private static String fingerprint(Optional<Setting> setting) {
        if (setting.isEmpty()) {
            return "";
        }
        Node value = setting.get().value();
        if (value instanceof ScalarNode scalar) {
            return scalar.getValue();
        }
        if (value instanceof SequenceNode sequence) {
            List<String> items = new ArrayList<>();
            for (Node item : sequence.getValue()) {
                items.add(item instanceof ScalarNode scalar ? scalar.getValue() : InventoryParser.kind(item));
            }
            return "[" + String.join(", ", items) + "]";
        }
        return InventoryParser.kind(value);
    }

    private String token(HostVariables vars) {
        Optional<Located<String>> token = vars.string(CLUSTER_TOKEN);
        if (token.isEmpty()) {
            if (vars.setting(CLUSTER_TOKEN).isEmpty()) {
                problems.add(cluster.key(), cluster.name(), null, CLUSTER_TOKEN,
                        "missing: set 'cluster_token: <unique name>' in the cluster group's vars (etcd's --initial-cluster-token)");
            }
            return null;
        }
        if (!TOKEN_RULE.matcher(token.get().value()).matches()) {
            problems.add(token.get().node(), cluster.name(), null, CLUSTER_TOKEN, "'" + token.get().value()
                    + "' may hold only letters, digits, '.', '_', '-' (1 to 128 characters)");
        }
        return token.get().value();
    }

    private SnapshotSource snapshot(HostVariables vars) {
        boolean hasEndpoints = vars.setting(SNAPSHOT_ENDPOINTS).isPresent();
        boolean hasFile = vars.setting(SNAPSHOT_FILE).isPresent();
        if (hasEndpoints == hasFile) {
            String problem = hasFile
                    ? "both snapshot_endpoints (" + problems.where(vars.lineOf(SNAPSHOT_ENDPOINTS)) + ") and snapshot_file ("
                      + problems.where(vars.lineOf(SNAPSHOT_FILE)) + ") are set: keep exactly one"
                    : "neither snapshot_endpoints nor snapshot_file is set: give the old members' client URLs "
                      + "(snapshot_endpoints: [http://HOST:2379]) or a snapshot file (snapshot_file: PATH)";
            problems.add(hasFile ? vars.lineOf(SNAPSHOT_FILE) : cluster.key(), cluster.name(), null, "snapshot", problem);
            return null;
        }
        if (hasFile) {
            return vars.string(SNAPSHOT_FILE).map(f -> new SnapshotSource.File(resolvePath(f.value()))).orElse(null);
        }
        Optional<Located<List<Located<String>>>> list = vars.list(SNAPSHOT_ENDPOINTS);
        if (list.isEmpty()) {
            return null;
        }
        List<URI> endpoints = new ArrayList<>();
        for (Located<String> item : list.get().value()) {
            try {
                endpoints.add(Addresses.url(item.value(), Set.of("http", "https")));
            } catch (Addresses.BadUrl e) {
                problems.add(item.node(), cluster.name(), null, SNAPSHOT_ENDPOINTS, e.getMessage());
            }
        }
        return new SnapshotSource.Endpoints(endpoints);
    }

    private Path resolvePath(String path) {
        return baseDir.resolve(path).normalize();
    }

    private void checkAcrossMembers(List<Resolved> members) {
        Map<String, Resolved> names = new HashMap<>();
        Map<String, Resolved> agents = new HashMap<>();
        Map<String, String> urlUse = new HashMap<>();
        for (Resolved member : members) {
            MemberPlan plan = member.plan();
            HostVariables vars = member.vars();
            Resolved sameName = names.putIfAbsent(plan.etcdName(), member);
            if (sameName != null) {
                vars.problem(vars.lineOf(ETCD_NAME), ETCD_NAME, "'" + plan.etcdName() + "' is also the member name of host "
                        + sameName.plan().hostName() + ": member names must be unique in a cluster; set etcd_name");
            }
            String agentKey = Addresses.canonical(plan.agentHost()) + ":" + plan.agentPort();
            Resolved sameAgent = agents.putIfAbsent(agentKey, member);
            if (sameAgent != null) {
                vars.problem(member.agentEndpointLine(), AGENT_ENDPOINT, plan.agentEndpoint() + " is also the agent of host "
                        + sameAgent.plan().hostName() + ": every host needs its own agent; fix address or agent_endpoint");
            }
            checkUrls(member, PEER_URLS, member.peerUrls(), urlUse);
            checkUrls(member, CLIENT_URLS, member.clientUrls(), urlUse);
        }
    }

    private void checkUrls(Resolved member, String field, List<Located<URI>> urls, Map<String, String> urlUse) {
        MemberPlan plan = member.plan();
        HostVariables vars = member.vars();
        String ownAddress = Addresses.canonical(plan.address());
        for (Located<URI> url : urls) {
            String host = Addresses.canonical(Addresses.host(url.value()));
            if (!host.equals(ownAddress)) {
                String owner = addressOwners.get(host);
                String whose = owner != null && !owner.equals(plan.hostName())
                        ? " is the address of host " + owner + ", not of this host (" + plan.address() + "): "
                          + "a member advertising another member's URL breaks the restored cluster"
                        : " is not this host's address " + plan.address();
                vars.problem(url.node(), field, url.value() + whose + "; use " + Addresses.hostForUrl(plan.address())
                        + " in " + field + " (or fix address)");
            }
            String key = host + ":" + url.value().getPort();
            String use = plan.hostName() + " " + field;
            String previous = urlUse.putIfAbsent(key, use);
            if (previous != null) {
                vars.problem(url.node(), field, url.value() + " is also in " + previous.replace(" ", "'s ")
                        + ": every URL, peer or client, needs its own host:port; fix the port or the URL");
            }
        }
    }
}
