package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.inventory.Addresses;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.EtcdSettingVersions;
import dev.etcdrescue.coordinator.inventory.EtcdSettings;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Decides which settings of the old member's env file the new member keeps, and says why for each:
 * settings that must survive (quota, timers, compaction, logs, metrics...) are carried after the same
 * grammar check {@code etcd_settings} applies, the metrics URLs are moved off ports the old or the new
 * member holds, and what would break a restored member (a stale cluster, {@code existing}, a forced
 * new cluster) is replaced by the plan's value or dropped. The inventory wins over the old file.
 * Pure logic: the env comes from the agents' preflight reports.
 */
final class CarryOver {
    private CarryOver() {}

    /**
     * An old member's settings as its agent read them, wherever they lived (env file, flags, config
     * file); {@code sources} says for each how and where it was given; {@code onThisHost} is false when
     * borrowed from the source host.
     */
    record OldEnv(String hostName, String address, String file, Map<String, String> env, Map<String, String> sources,
                  boolean onThisHost) {
        OldEnv {
            env = new LinkedHashMap<>(env);
            sources = Map.copyOf(sources);
        }

        OldEnv(String hostName, String address, String file, Map<String, String> env, boolean onThisHost) {
            this(hostName, address, file, env, Map.of(), onThisHost);
        }

        /** " (from SOURCE)" for a setting whose source is known, else "". */
        String from(String key) {
            String source = sources.get(key);
            return source == null || source.isEmpty() ? "" : " [" + source + "]";
        }
    }

    /**
     * What the new member gets beyond the inventory ({@code settings}, in the old file's order), one
     * line per decision for the report, and errors that refuse the recovery.
     */
    record Result(Map<String, String> settings, List<String> lines, List<String> errors) {
        static Result none(String why) {
            return new Result(Map.of(), List.of(why), List.of());
        }
    }

    /** The member with the inventory's settings first and the carried ones after them (the inventory wins). */
    static MemberPlan merged(MemberPlan m, Map<String, String> carried) {
        Map<String, String> merged = new LinkedHashMap<>(m.etcdSettings());
        carried.forEach(merged::putIfAbsent);
        return m.withEtcdSettings(merged);
    }

    /** A member as one host gets it: its settings final, and every decision on them. */
    record Planned(MemberPlan member, List<String> lines, List<String> errors) {}

    /**
     * The member with the inventory's and the carried settings merged, each under the name the host's
     * etcd reads ({@link EtcdSettingVersions}: 3.6 renamed the experimental ones, 3.5 refuses capnslog).
     */
    static Planned planned(MemberPlan m, Result carried, String etcdVersion) {
        MemberPlan merged = merged(m, carried.settings());
        EtcdSettingVersions.Result versioned = EtcdSettingVersions.apply(etcdVersion, merged.etcdSettings());
        List<String> lines = new ArrayList<>(carried.lines());
        lines.addAll(versioned.lines());
        List<String> errors = new ArrayList<>(carried.errors());
        versioned.errors().forEach(e -> errors.add("refused for etcd " + etcdVersion + ": " + e));
        return new Planned(merged.withEtcdSettings(versioned.settings()), lines, errors);
    }

    private static final String METRICS = "ETCD_LISTEN_METRICS_URLS";
    private static final String HEARTBEAT = "ETCD_HEARTBEAT_INTERVAL";
    private static final String ELECTION = "ETCD_ELECTION_TIMEOUT";
    private static final String STATE = "ETCD_INITIAL_CLUSTER_STATE";
    /** How far a taken metrics port moves, as the fence moves the client port. */
    static final int PORT_SHIFT = 20000;
    private static final int DEFAULT_CLIENT_PORT = 2379;
    private static final int DEFAULT_PEER_PORT = 2380;
    private static final int DEFAULT_HEARTBEAT_MS = 100;
    private static final int DEFAULT_ELECTION_MS = 1000;
    private static final int MAX_ELECTION_MS = 50000;

    private static final Set<String> TLS = Set.of("ETCD_CERT_FILE", "ETCD_KEY_FILE", "ETCD_TRUSTED_CA_FILE",
            "ETCD_CLIENT_CERT_AUTH", "ETCD_PEER_CERT_FILE", "ETCD_PEER_KEY_FILE", "ETCD_PEER_TRUSTED_CA_FILE",
            "ETCD_PEER_CLIENT_CERT_AUTH", "ETCD_AUTO_TLS", "ETCD_PEER_AUTO_TLS", "ETCD_CLIENT_CRL_FILE", "ETCD_PEER_CRL_FILE");
    private static final Set<String> URLS = Set.of("ETCD_LISTEN_CLIENT_URLS", "ETCD_ADVERTISE_CLIENT_URLS",
            "ETCD_LISTEN_PEER_URLS", "ETCD_INITIAL_ADVERTISE_PEER_URLS");
    private static final Map<String, String> DROPPED = Map.of(
            "ETCD_FORCE_NEW_CLUSTER", "it would make a one-member cluster on every host; the members are restored together",
            "ETCD_DISCOVERY", "the restored members find each other through the initial cluster, not discovery",
            "ETCD_DISCOVERY_SRV", "the restored members find each other through the initial cluster, not discovery",
            "ETCD_DISCOVERY_FALLBACK", "the restored members find each other through the initial cluster, not discovery",
            "ETCD_DISCOVERY_PROXY", "the restored members find each other through the initial cluster, not discovery");

    /**
     * The old env a member's settings come from: its own host's file, or, for a host without one (a
     * replacement host), the snapshot source host's when that host is in the inventory.
     *
     * @param envs       every host's old env by host name (empty map: no file, or no ETCD_* line in it)
     * @param files      the file each host's env was read from
     * @param sourceHost the inventory host the snapshot was taken from, if known
     */
    static Optional<OldEnv> envFor(MemberPlan m, Map<String, Map<String, String>> envs, Map<String, String> files,
                                   Optional<MemberPlan> sourceHost) {
        return envFor(m, envs, files, Map.of(), sourceHost);
    }

    /** @param sources every host's settings' sources by host name, then setting */
    static Optional<OldEnv> envFor(MemberPlan m, Map<String, Map<String, String>> envs, Map<String, String> files,
                                   Map<String, Map<String, String>> sources, Optional<MemberPlan> sourceHost) {
        Map<String, String> own = envs.getOrDefault(m.hostName(), Map.of());
        if (carriable(own)) {
            return Optional.of(new OldEnv(m.hostName(), m.address(), files.getOrDefault(m.hostName(), ""), own,
                    sources.getOrDefault(m.hostName(), Map.of()), true));
        }
        return sourceHost.filter(s -> !s.hostName().equals(m.hostName()))
                .filter(s -> carriable(envs.getOrDefault(s.hostName(), Map.of())))
                .map(s -> new OldEnv(s.hostName(), s.address(), files.getOrDefault(s.hostName(), ""), envs.get(s.hostName()),
                        sources.getOrDefault(s.hostName(), Map.of()), false))
                .or(() -> own.isEmpty() ? Optional.empty() : Optional.of(new OldEnv(m.hostName(), m.address(),
                        files.getOrDefault(m.hostName(), ""), own, sources.getOrDefault(m.hostName(), Map.of()), true)));
    }

    /**
     * True when an old member has a setting to carry. One with only its identity (a packaged unit's
     * {@code Environment=ETCD_NAME=%H} on a replacement host whose env file is gone) has none, so it
     * takes the snapshot source host's.
     */
    private static boolean carriable(Map<String, String> env) {
        List<String> carried = EtcdSettings.carriedEnvNames();
        return env.keySet().stream().anyMatch(carried::contains);
    }

    /** The inventory host whose old member served {@code endpoint} (the snapshot source), by address. */
    static Optional<MemberPlan> sourceHost(ClusterPlan plan, URI endpoint, Map<String, Map<String, String>> envs) {
        if (endpoint == null || endpoint.getHost() == null) {
            return Optional.empty();
        }
        String host = Addresses.canonical(endpoint.getHost());
        for (MemberPlan m : plan.members()) {
            Set<String> hosts = new LinkedHashSet<>();
            hosts.add(Addresses.canonical(m.address()));
            for (String key : List.of("ETCD_ADVERTISE_CLIENT_URLS", "ETCD_LISTEN_CLIENT_URLS")) {
                for (URI url : Addresses.webUrls(envs.getOrDefault(m.hostName(), Map.of()).getOrDefault(key, ""))) {
                    if (url.getHost() != null && !Addresses.wildcardOrLoopback(url.getHost())) {
                        hosts.add(Addresses.canonical(url.getHost()));
                    }
                }
            }
            if (hosts.contains(host)) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }

    /**
     * @param fencePort the port the member serves clients on until release (0: no fence); a metrics URL must avoid it too
     */
    static Result of(ClusterPlan cluster, MemberPlan m, Optional<OldEnv> oldEnv, int fencePort) {
        if (oldEnv.isEmpty()) {
            return Result.none("no etcd setting found in the old member's unit, env files, flags or config file on this host"
                    + " (nor on the snapshot source host): nothing carried over; the inventory's etcd_settings apply");
        }
        OldEnv old = oldEnv.get();
        Map<String, String> settings = new LinkedHashMap<>();
        List<String> lines = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        if (!old.onThisHost()) {
            lines.add("nothing to carry on this host: settings taken from " + old.hostName() + "'s " + old.file()
                    + " (the snapshot source host)");
        }
        Map<String, String> inventory = inventorySettings(m);
        List<String> carried = EtcdSettings.carriedEnvNames();
        for (Map.Entry<String, String> e : old.env().entrySet()) {
            String key = e.getKey();
            String value = e.getValue();
            if (carried.contains(key)) {
                if (inventory.containsKey(key)) {
                    if (!inventory.get(key).equals(value)) {
                        lines.add("inventory wins: " + key + "=" + inventory.get(key) + " (the old member had " + value + ")"
                                + old.from(key));
                    }
                } else if (key.equals(METRICS)) {
                    metrics(m, old, value, fencePort, lines).ifPresent(v -> settings.put(key, v));
                } else {
                    Optional<String> problem = problem(key, value);
                    if (problem.isPresent()) {
                        lines.add("dropped: " + key + "=" + quoted(value) + " is not " + problem.get()
                                + " (etcd-rescue passes on only checked values; set it in etcd_settings)" + old.from(key));
                    } else {
                        settings.put(key, value);
                        lines.add("carried: " + key + "=" + value + old.from(key));
                    }
                }
            } else if (key.equals(STATE)) {
                if (!value.equals("new")) {
                    lines.add("changed: " + STATE + " " + quoted(value) + " -> new (a restored member starts a new cluster;"
                            + " with existing it would wait to join a cluster that is gone)" + old.from(key));
                }
            } else if (DROPPED.containsKey(key)) {
                boolean off = value.isEmpty() || value.equalsIgnoreCase("false");
                lines.add("dropped: " + key + "=" + quoted(value) + " (" + (off ? "etcd's default anyway" : DROPPED.get(key)) + ")"
                        + old.from(key));
            } else if (TLS.contains(key)) {
                continue;
            } else {
                Optional<String> planned = planned(cluster, m, key);
                if (planned.isPresent()) {
                    if (!planned.get().equals(value)) {
                        lines.add("changed: " + key + " " + quoted(value) + " -> " + quoted(planned.get()) + " (from the plan)"
                                + old.from(key));
                    }
                } else {
                    lines.add("not carried: " + key + "=" + quoted(value) + " (not a setting etcd-rescue carries over;"
                            + " those it does are the etcd_settings the inventory accepts)" + old.from(key));
                }
            }
        }
        tls(m, old, lines, errors);
        timers(m, settings, errors);
        return new Result(settings, lines, errors);
    }

    /** The inventory's own settings of this member, under their env names (the timers have variables of their own). */
    private static Map<String, String> inventorySettings(MemberPlan m) {
        Map<String, String> inventory = new LinkedHashMap<>(m.etcdSettings());
        if (m.heartbeatIntervalMs() != null) {
            inventory.put(HEARTBEAT, m.heartbeatIntervalMs().toString());
        }
        if (m.electionTimeoutMs() != null) {
            inventory.put(ELECTION, m.electionTimeoutMs().toString());
        }
        return inventory;
    }

    private static Optional<String> problem(String key, String value) {
        if (key.equals(HEARTBEAT) || key.equals(ELECTION)) {
            return value.matches("[1-9][0-9]{0,8}") ? Optional.empty() : Optional.of("a whole number of milliseconds above 0");
        }
        return EtcdSettings.grammarProblem(key, value);
    }

    /** The value etcd-rescue writes for a setting the plan decides; empty for settings the plan does not hold. */
    private static Optional<String> planned(ClusterPlan cluster, MemberPlan m, String key) {
        return Optional.ofNullable(switch (key) {
            case "ETCD_NAME" -> m.etcdName();
            case "ETCD_DATA_DIR" -> m.dataDir();
            case "ETCD_WAL_DIR" -> m.walDir() == null ? "(none: inside the data dir)" : m.walDir();
            case "ETCD_LISTEN_CLIENT_URLS" -> join(m.listenClientUrls());
            case "ETCD_ADVERTISE_CLIENT_URLS" -> join(m.clientUrls());
            case "ETCD_LISTEN_PEER_URLS" -> join(m.listenPeerUrls());
            case "ETCD_INITIAL_ADVERTISE_PEER_URLS" -> join(m.peerUrls());
            case "ETCD_INITIAL_CLUSTER" -> cluster.initialCluster();
            case "ETCD_INITIAL_CLUSTER_TOKEN" -> cluster.token();
            default -> null;
        });
    }

    /**
     * The old member served https with its own files: without TLS from the inventory the new member
     * would come up plain http while every client expects https, so that is refused, naming what to set.
     */
    private static void tls(MemberPlan m, OldEnv old, List<String> lines, List<String> errors) {
        List<String> oldTls = old.env().keySet().stream().filter(TLS::contains).toList();
        List<String> https = old.env().entrySet().stream()
                .filter(e -> URLS.contains(e.getKey()) && e.getValue().toLowerCase(Locale.ROOT).contains("https://"))
                .map(Map.Entry::getKey).toList();
        if (m.tls() != null) {
            if (!oldTls.isEmpty()) {
                lines.add("from the inventory: the TLS settings (the old file's " + String.join(", ", oldTls) + " are not carried)");
            }
        } else if (!https.isEmpty()) {
            errors.add("the old member serves https (" + https.stream().map(k -> k + "=" + old.env().get(k))
                    .collect(Collectors.joining(", ")) + (oldTls.isEmpty() ? "" : "; its TLS files: " + oldTls.stream()
                    .map(k -> k + "=" + old.env().get(k)).collect(Collectors.joining(", ")))
                    + ") but the inventory gives no TLS: the new member would come up plain http while clients expect https."
                    + " Set scheme: https with etcd_cert_file, etcd_key_file and etcd_ca_file (and etcd_peer_cert_file,"
                    + " etcd_peer_key_file, etcd_peer_ca_file when the peer files differ), and the coordinator's etcd_client_ca,"
                    + " etcd_client_cert, etcd_client_key");
        } else if (!oldTls.isEmpty()) {
            lines.add("not carried: " + String.join(", ", oldTls) + " (the old member's URLs are http; TLS comes from the"
                    + " inventory's scheme: https and etcd_*_file variables)");
        }
    }

    /** etcd refuses to start when the election timeout is under five heartbeats; a merge of two sources can get there. */
    private static void timers(MemberPlan m, Map<String, String> settings, List<String> errors) {
        if (!settings.containsKey(HEARTBEAT) && !settings.containsKey(ELECTION)) {
            return;
        }
        long heartbeat = m.heartbeatIntervalMs() != null ? m.heartbeatIntervalMs()
                : Long.parseLong(settings.getOrDefault(HEARTBEAT, Integer.toString(DEFAULT_HEARTBEAT_MS)));
        long election = m.electionTimeoutMs() != null ? m.electionTimeoutMs()
                : Long.parseLong(settings.getOrDefault(ELECTION, Integer.toString(DEFAULT_ELECTION_MS)));
        if (election < 5 * heartbeat) {
            errors.add("election timeout " + election + " ms is less than 5 x the heartbeat interval " + heartbeat
                    + " ms (from the inventory and the old env file together): etcd would refuse to start."
                    + " Set both heartbeat_interval_ms and election_timeout_ms in the inventory");
        }
        if (election > MAX_ELECTION_MS) {
            errors.add("election timeout " + election + " ms is above etcd's limit of " + MAX_ELECTION_MS
                    + " ms: etcd would refuse to start. Set election_timeout_ms in the inventory");
        }
    }

    /**
     * The old metrics URLs on ports the new member can bind: the new member runs beside the old one
     * until the cut-over, so a port the old member holds on this host is shifted like the client port
     * (2381 becomes 22381 when 2379 became 22379); the old client or peer port maps to the new one; a
     * port still taken (by the new member's own listeners, the fence, the old member, an earlier URL)
     * moves up by {@value #PORT_SHIFT}, then to the next free port.
     */
    private static Optional<String> metrics(MemberPlan m, OldEnv old, String value, int fencePort, List<String> lines) {
        List<URI> urls = Addresses.webUrls(value);
        if (urls.isEmpty() || urls.size() != value.split(",", -1).length) {
            lines.add("dropped: " + METRICS + "=" + quoted(value) + " is not a list of http(s)://HOST:PORT URLs");
            return Optional.empty();
        }
        Set<Integer> oldClient = ports(old.env().get("ETCD_LISTEN_CLIENT_URLS"), DEFAULT_CLIENT_PORT);
        Set<Integer> oldPeer = ports(old.env().get("ETCD_LISTEN_PEER_URLS"), DEFAULT_PEER_PORT);
        int newClient = m.clientUrls().get(0).getPort();
        int newPeer = m.peerUrls().get(0).getPort();
        int shift = newClient - oldClient.iterator().next();
        Set<Integer> taken = new TreeSet<>();
        m.listenClientUrls().forEach(u -> taken.add(u.getPort()));
        m.listenPeerUrls().forEach(u -> taken.add(u.getPort()));
        m.clientUrls().forEach(u -> taken.add(u.getPort()));
        m.peerUrls().forEach(u -> taken.add(u.getPort()));
        if (fencePort > 0) {
            taken.add(fencePort);
        }
        Set<Integer> oldPorts = new TreeSet<>();
        if (old.onThisHost()) {
            oldPorts.addAll(oldClient);
            oldPorts.addAll(oldPeer);
            urls.forEach(u -> oldPorts.add(u.getPort()));
        }
        taken.addAll(oldPorts);
        List<String> out = new ArrayList<>();
        for (URI url : urls) {
            String host = url.getHost();
            List<String> why = new ArrayList<>();
            if (!old.onThisHost() && Addresses.canonical(host).equals(Addresses.canonical(old.address()))) {
                host = m.address();
                why.add("the source host's address becomes this host's");
            } else if (!Addresses.wildcardOrLoopback(host) && !Addresses.canonical(host).equals(Addresses.canonical(m.address()))) {
                lines.add("dropped: " + METRICS + " URL " + url + " (not an address of this host: etcd could not listen there)");
                continue;
            }
            int port = url.getPort();
            if (oldClient.contains(port)) {
                port = newClient;
                why.add(url.getPort() + " was the old member's client port, now " + newClient);
            } else if (oldPeer.contains(port)) {
                port = newPeer;
                why.add(url.getPort() + " was the old member's peer port, now " + newPeer);
            } else if (old.onThisHost() && shift != 0) {
                port += shift;
                why.add("the old member holds " + url.getPort() + " on this host until the cut-over; shifted like the client port ("
                        + oldClient.iterator().next() + " -> " + newClient + ")");
            }
            if (taken.contains(port) || port > 65535 || port < 1) {
                int free = freePort(url.getPort() + PORT_SHIFT, taken);
                why.add("port " + port + " is taken (the new member's " + ownPorts(m, fencePort) + (old.onThisHost()
                        ? ", the old member's " + oldPorts.stream().map(String::valueOf).collect(Collectors.joining(",")) : "")
                        + "), so " + free);
                port = free;
            }
            taken.add(port);
            URI moved = Addresses.withHostAndPort(url, host, port);
            out.add(moved.toString());
            if (moved.equals(url)) {
                lines.add("carried: " + METRICS + " URL " + url);
            } else {
                lines.add("remapped: " + METRICS + " URL " + url + " -> " + moved + " (" + String.join("; ", why) + ")");
            }
        }
        return out.isEmpty() ? Optional.empty() : Optional.of(String.join(",", out));
    }

    private static String ownPorts(MemberPlan m, int fencePort) {
        Set<Integer> own = new TreeSet<>();
        m.clientUrls().forEach(u -> own.add(u.getPort()));
        m.peerUrls().forEach(u -> own.add(u.getPort()));
        m.listenClientUrls().forEach(u -> own.add(u.getPort()));
        m.listenPeerUrls().forEach(u -> own.add(u.getPort()));
        if (fencePort > 0) {
            own.add(fencePort);
        }
        return own.stream().map(String::valueOf).collect(Collectors.joining(","));
    }

    private static int freePort(int from, Set<Integer> taken) {
        for (int i = 0; i < 65535; i++) {
            int port = 1024 + Math.floorMod(from - 1024 + i, 65536 - 1024);
            if (!taken.contains(port)) {
                return port;
            }
        }
        throw new IllegalStateException("no free port");
    }

    private static Set<Integer> ports(String urls, int fallback) {
        Set<Integer> ports = new LinkedHashSet<>();
        if (urls != null) {
            Addresses.webUrls(urls).forEach(u -> ports.add(u.getPort()));
        }
        if (ports.isEmpty()) {
            ports.add(fallback);
        }
        return ports;
    }

    private static String join(List<URI> urls) {
        return urls.stream().map(URI::toString).collect(Collectors.joining(","));
    }

    private static String quoted(String value) {
        String shown = value.length() > 120 ? value.substring(0, 120) + "..." : value;
        return shown.chars().allMatch(c -> c > 0x20 && c < 0x7f) ? shown : "'" + shown.replaceAll("[\\p{Cntrl}]", "?") + "'";
    }
}
