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

        List<URI> oldClientUrls = snapshot instanceof SnapshotSource.Endpoints e ? e.endpoints() : List.of();
        List<Resolved> members = new ArrayList<>();
        for (HostVariables vars : hosts) {
            MemberResolver.resolve(vars, oldClientUrls).ifPresent(members::add);
        }
        checkAcrossMembers(members);
        refusePlainPasswords(hosts);
        EtcdAccess access = access(first, hosts, oldClientUrls);
        if (problems.size() > before) {
            return Optional.empty();
        }
        return Optional.of(new ClusterPlan(cluster.name(), token, snapshot, tlsDir,
                members.stream().map(Resolved::plan).toList(), access));
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

    /** A password written into the inventory would end up in version control and backups. */
    private void refusePlainPasswords(List<HostVariables> hosts) {
        java.util.Set<Node> reported = new java.util.HashSet<>();
        for (HostVariables vars : hosts) {
            vars.setting(ETCD_PASSWORD).filter(s -> reported.add(s.key())).ifPresent(s -> vars.problem(s.key(), ETCD_PASSWORD,
                    "refused: a password in the inventory ends up in version control and backups; put it in a file readable"
                    + " only by you (etcd_password_file: PATH, relative to the inventory) or export "
                    + EtcdAccess.PASSWORD_ENV + ", and remove etcd_password"));
        }
    }

    /**
     * The coordinator's own etcd connections: https URLs (of the old members it snapshots, or of the
     * new ones it verifies) need the etcd CA; new members that require client certificates need one
     * from the coordinator too. Files are checked when a connection is made: 'pki issue-etcd' reads
     * this inventory before it creates them.
     */
    private EtcdAccess access(HostVariables vars, List<HostVariables> hosts, List<URI> oldClientUrls) {
        Optional<Path> ca = vars.string(ETCD_CLIENT_CA).map(v -> resolvePath(v.value()));
        Optional<Path> cert = vars.string(ETCD_CLIENT_CERT).map(v -> resolvePath(v.value()));
        Optional<Path> key = vars.string(ETCD_CLIENT_KEY).map(v -> resolvePath(v.value()));
        // Read as written, not through the resolved members: a member with a problem still says what it serves.
        boolean newHttps = hosts.stream().anyMatch(h -> h.setting(SCHEME).map(Setting::value)
                .filter(v -> v instanceof ScalarNode scalar && scalar.getValue().equals("https")).isPresent());
        boolean oldHttps = oldClientUrls.stream().anyMatch(u -> u.getScheme().equals("https"));
        if (cert.isPresent() != key.isPresent()) {
            String missing = cert.isPresent() ? ETCD_CLIENT_KEY : ETCD_CLIENT_CERT;
            vars.problem(vars.lineOf(cert.isPresent() ? ETCD_CLIENT_CERT : ETCD_CLIENT_KEY), missing,
                    "missing: etcd_client_cert and etcd_client_key go together");
        }
        if ((newHttps || oldHttps) && ca.isEmpty()) {
            problems.add(cluster.key(), cluster.name(), null, ETCD_CLIENT_CA, "missing: "
                    + (newHttps ? "the new members serve https" : "snapshot_endpoints are https")
                    + ", so the coordinator needs the etcd CA to check them: set etcd_client_ca (a PEM file on this machine,"
                    + " relative to the inventory)");
        }
        if (newHttps && cert.isEmpty() && key.isEmpty()) {
            problems.add(cluster.key(), cluster.name(), null, ETCD_CLIENT_CERT, "missing: the new members require client"
                    + " certificates (https turns on etcd's client-cert-auth), so the coordinator's verify needs one: set"
                    + " etcd_client_cert and etcd_client_key ('etcd-rescue pki issue-etcd' makes them)");
        }
        if (!newHttps && !oldHttps) {
            for (String field : List.of(ETCD_CLIENT_CA, ETCD_CLIENT_CERT, ETCD_CLIENT_KEY)) {
                if (vars.setting(field).isPresent()) {
                    vars.problem(vars.lineOf(field), field, "is set but no etcd URL is https (scheme and snapshot_endpoints"
                            + " are http): set 'scheme: https' or remove " + field);
                }
            }
        }
        Optional<String> user = vars.string(ETCD_USER).map(v -> v.value());
        if (user.isPresent() && (user.get().isBlank() || user.get().chars().anyMatch(c -> c < 0x21 || c == 0x7f))) {
            vars.problem(vars.lineOf(ETCD_USER), ETCD_USER, "'" + user.get() + "' is not an etcd user name (no spaces or control characters)");
        }
        if (user.isPresent()) {
            List<String> plain = plainHttpPeers(newHttps, oldClientUrls);
            if (!plain.isEmpty()) {
                vars.problem(vars.lineOf(ETCD_USER), ETCD_USER, "is set, but its password would cross the network in"
                        + " clear text to " + String.join(", ", plain) + ": use https (scheme: https and https"
                        + " snapshot_endpoints), or a client certificate instead of a password");
            }
        }
        Optional<Path> passwordFile = vars.string(ETCD_PASSWORD_FILE).map(v -> resolvePath(v.value()));
        if (passwordFile.isPresent() && user.isEmpty()) {
            vars.problem(vars.lineOf(ETCD_PASSWORD_FILE), ETCD_PASSWORD_FILE, "is set but etcd_user is not: set the etcd user"
                    + " whose password the file holds");
        }
        return new EtcdAccess(ca.orElse(null), cert.orElse(null), key.orElse(null), user.orElse(null), passwordFile.orElse(null));
    }

    /** Where the coordinator would talk plain http to etcd off this machine (loopback stays on it). */
    private static List<String> plainHttpPeers(boolean newHttps, List<URI> oldClientUrls) {
        List<String> plain = new ArrayList<>();
        if (!newHttps) {
            plain.add("the new members (scheme: http)");
        }
        oldClientUrls.stream().filter(u -> u.getScheme().equals("http") && !loopback(u.getHost()))
                .forEach(u -> plain.add(u.toString()));
        return plain;
    }

    private static boolean loopback(String host) {
        String bare = host == null ? "" : host.replaceAll("^\\[|\\]$", "");
        return bare.equals("localhost") || bare.startsWith("127.") || bare.equals("::1");
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
