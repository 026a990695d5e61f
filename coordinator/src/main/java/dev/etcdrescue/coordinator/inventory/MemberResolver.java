package dev.etcdrescue.coordinator.inventory;

import static dev.etcdrescue.coordinator.inventory.Variables.*;

import dev.etcdrescue.coordinator.inventory.HostVariables.Located;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.Node;

/** Turns one host's variables into a {@link MemberPlan}: defaults filled in, each field checked on its own. */
final class MemberResolver {
    private static final Pattern ETCD_NAME_RULE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    private static final Pattern UNIT_RULE = Pattern.compile("[A-Za-z0-9_.@-]+");
    private static final Set<String> SCHEMES = Set.of("http", "https");

    /** A member plan and where its URLs were written, for the checks across members. */
    record Resolved(MemberPlan plan, HostVariables vars, List<Located<URI>> peerUrls, List<Located<URI>> clientUrls,
                    Node agentEndpointLine) {}

    private MemberResolver() {}

    /** The member, or empty when a field has a problem (already reported). */
    static Optional<Resolved> resolve(HostVariables vars) {
        return resolve(vars, List.of());
    }

    /** @param oldClientUrls the old members' client URLs (snapshot_endpoints): their ports stay taken on their hosts */
    static Optional<Resolved> resolve(HostVariables vars, List<URI> oldClientUrls) {
        return new Run(vars, oldClientUrls).resolve();
    }

    private static final class Run {
        private static final Pattern SAFE_PATH = Pattern.compile("/[A-Za-z0-9._/+@:-]*");
        private final HostVariables vars;
        private final List<URI> oldClientUrls;
        private boolean failed;

        Run(HostVariables vars, List<URI> oldClientUrls) {
            this.vars = vars;
            this.oldClientUrls = oldClientUrls;
        }

        Optional<Resolved> resolve() {
            String address = address();
            String etcdName = etcdName();
            String scheme = scheme();
            int peerPort = port(PEER_PORT, DEFAULT_PEER_PORT);
            int clientPort = port(CLIENT_PORT, DEFAULT_CLIENT_PORT);
            int agentPort = port(AGENT_PORT, DEFAULT_AGENT_PORT);
            Addresses.Endpoint agent = agentEndpoint(address, agentPort);
            List<Located<URI>> peerUrls = advertised(PEER_URLS, scheme, address, peerPort);
            List<Located<URI>> clientUrls = advertised(CLIENT_URLS, scheme, address, clientPort);
            List<URI> listenPeer = listen(LISTEN_PEER_URLS, scheme, peerUrls);
            List<URI> listenClient = listen(LISTEN_CLIENT_URLS, scheme, clientUrls);
            String dataDir = directory(DATA_DIR).orElse(DEFAULT_DATA_DIR);
            String walDir = directory(WAL_DIR).orElse(null);
            if (walDir != null && walDir.equals(dataDir)) {
                problem(WAL_DIR, "is the same as data_dir " + dataDir + ": give the WAL its own directory or remove wal_dir");
            }
            String newUnit = unit(NEW_UNIT, DEFAULT_NEW_UNIT);
            String oldUnit = unit(OLD_UNIT, DEFAULT_OLD_UNIT);
            if (newUnit != null && newUnit.equals(oldUnit)) {
                problem(NEW_UNIT, "is the same as old_unit '" + oldUnit + "': the restored member needs its own unit, "
                        + "or the old one would be overwritten; choose another new_unit");
            }
            String baseUnit = unit(BASE_UNIT, oldUnit);
            if (newUnit != null && vars.setting(BASE_UNIT).isPresent() && newUnit.equals(baseUnit)) {
                problem(BASE_UNIT, "is the same as new_unit '" + newUnit + "': the new member's unit is copied from base_unit,"
                        + " so it must be another unit (default: old_unit)");
            }
            Integer heartbeat = positive(HEARTBEAT_INTERVAL_MS);
            Integer election = positive(ELECTION_TIMEOUT_MS);
            MemberTls tls = tls(scheme);
            EtcdSettings.Resolved settings = EtcdSettings.resolve(vars, address == null ? "" : address,
                    ports(values(peerUrls), values(clientUrls), listenPeer, listenClient), oldPorts(address));
            failed |= !settings.ok();
            heartbeat = merged(heartbeat, settings.heartbeat(), HEARTBEAT_INTERVAL_MS, "heartbeat_interval");
            election = merged(election, settings.election(), ELECTION_TIMEOUT_MS, "election_timeout");
            checkTimers(heartbeat, election);
            if (failed || address == null) {
                return Optional.empty();
            }
            MemberPlan plan = new MemberPlan(vars.hostName(), etcdName, address, agent.host(), agent.port(),
                    values(peerUrls), values(clientUrls), listenPeer, listenClient, dataDir, walDir, newUnit, oldUnit,
                    baseUnit, heartbeat, election, tls, settings.env());
            return Optional.of(new Resolved(plan, vars, peerUrls, clientUrls, vars.lineOf(AGENT_ENDPOINT)));
        }

        /** The timers may be set as variables or in etcd_settings, not both. */
        private Integer merged(Integer variable, Located<Integer> setting, String variableName, String settingName) {
            if (setting == null) {
                return variable;
            }
            if (variable != null) {
                vars.problem(setting.node(), ETCD_SETTINGS + "." + settingName, "is also set as " + variableName + " ("
                        + vars.lineOfText(variableName) + "): set it once");
                failed = true;
                return variable;
            }
            return setting.value();
        }

        private static java.util.Set<Integer> ports(List<URI> peer, List<URI> client, List<URI> listenPeer, List<URI> listenClient) {
            java.util.Set<Integer> ports = new java.util.HashSet<>();
            for (List<URI> urls : List.of(peer, client, listenPeer, listenClient)) {
                urls.forEach(u -> ports.add(u.getPort()));
            }
            return ports;
        }

        /** Ports the old member on this host is known to hold: those of its snapshot_endpoints URL. */
        private java.util.Set<Integer> oldPorts(String address) {
            java.util.Set<Integer> ports = new java.util.HashSet<>();
            if (address != null) {
                String own = Addresses.canonical(address);
                for (URI url : oldClientUrls) {
                    if (Addresses.canonical(Addresses.host(url)).equals(own)) {
                        ports.add(url.getPort());
                    }
                }
            }
            return ports;
        }

        /**
         * The member's TLS files: required with https (the peer files default to the client ones),
         * refused with http, where etcd would ignore them and serve in the clear.
         */
        private MemberTls tls(String scheme) {
            List<String> fields = List.of(ETCD_CERT_FILE, ETCD_KEY_FILE, ETCD_CA_FILE, ETCD_PEER_CERT_FILE, ETCD_PEER_KEY_FILE,
                    ETCD_PEER_CA_FILE);
            java.util.Map<String, String> files = new java.util.HashMap<>();
            for (String field : fields) {
                hostFile(field).ifPresent(f -> files.put(field, f));
            }
            if (!scheme.equals("https")) {
                for (String field : fields) {
                    if (vars.setting(field).isPresent()) {
                        problem(field, "is set but this host's URLs are http, so etcd would serve in the clear: set 'scheme: https'"
                                + " (etcd then uses these files) or remove " + field);
                    }
                }
                return null;
            }
            for (String field : List.of(ETCD_CERT_FILE, ETCD_KEY_FILE, ETCD_CA_FILE)) {
                if (vars.setting(field).isEmpty()) {
                    vars.problem(vars.lineOf(SCHEME), field, "missing: scheme is https, so the new member needs " + field
                            + " (" + TLS_FILE_HINTS.get(field) + ", an absolute path on the host; 'etcd-rescue pki issue-etcd' makes them)");
                    failed = true;
                }
            }
            if (failed || files.size() < 3) {
                return null;
            }
            return new MemberTls(files.get(ETCD_CERT_FILE), files.get(ETCD_KEY_FILE), files.get(ETCD_CA_FILE),
                    files.getOrDefault(ETCD_PEER_CERT_FILE, files.get(ETCD_CERT_FILE)),
                    files.getOrDefault(ETCD_PEER_KEY_FILE, files.get(ETCD_KEY_FILE)),
                    files.getOrDefault(ETCD_PEER_CA_FILE, files.get(ETCD_CA_FILE)));
        }

        private static final java.util.Map<String, String> TLS_FILE_HINTS = java.util.Map.of(
                ETCD_CERT_FILE, "the member's certificate, PEM",
                ETCD_KEY_FILE, "its private key, PEM, readable by etcd's service user",
                ETCD_CA_FILE, "the CA that signed client certificates, PEM");

        /** An absolute path on the etcd host, in the characters the agent accepts. */
        private Optional<String> hostFile(String field) {
            Optional<Located<String>> set = vars.string(field);
            if (set.isEmpty()) {
                failed |= vars.setting(field).isPresent();
                return Optional.empty();
            }
            String path = set.get().value();
            if (!path.startsWith("/")) {
                problem(field, "'" + path + "' must be an absolute path (it is a file on the etcd host)");
            } else if (List.of(path.split("/")).contains("..") || List.of(path.split("/")).contains(".")) {
                problem(field, "'" + path + "' must not contain '..' or '.'");
            } else if (!SAFE_PATH.matcher(path).matches() || path.contains("//") || path.endsWith("/")) {
                problem(field, "'" + path + "' must be a plain file path of letters, digits and . _ / + @ : -");
            } else {
                return Optional.of(path);
            }
            return Optional.empty();
        }

        private String address() {
            Optional<Located<String>> address = vars.string(ADDRESS);
            if (address.isEmpty()) {
                if (vars.setting(ADDRESS).isEmpty()) {
                    vars.problem(vars.hostKey(), ADDRESS, "missing: set 'address: <IP or DNS name of the host>' under the host");
                }
                failed = true;
                return null;
            }
            String value = address.get().value().strip();
            if (value.startsWith("[") && value.endsWith("]")) {
                value = value.substring(1, value.length() - 1);
            }
            if (!Addresses.isAddress(value)) {
                vars.problem(address.get().node(), ADDRESS, "'" + value + "' is neither an IP address nor a DNS name");
                failed = true;
                return null;
            }
            return value;
        }

        private String etcdName() {
            Optional<Located<String>> set = vars.string(ETCD_NAME);
            String name = set.map(Located::value).orElse(vars.hostName());
            if (!ETCD_NAME_RULE.matcher(name).matches()) {
                String fix = set.isPresent() ? "fix etcd_name" : "the host's name is used by default; set etcd_name";
                problem(ETCD_NAME, "'" + name + "' is not a valid member name (letters, digits, '.', '_', '-', "
                        + "starting with a letter or digit, at most 63): " + fix);
            }
            return name;
        }

        private String scheme() {
            Optional<Located<String>> set = vars.string(SCHEME);
            if (set.isEmpty()) {
                failed |= vars.setting(SCHEME).isPresent();
                return DEFAULT_SCHEME;
            }
            if (!SCHEMES.contains(set.get().value())) {
                problem(SCHEME, "'" + set.get().value() + "' is neither http nor https");
                return DEFAULT_SCHEME;
            }
            return set.get().value();
        }

        private int port(String field, int fallback) {
            Optional<Located<Integer>> set = vars.integer(field);
            if (set.isEmpty()) {
                failed |= vars.setting(field).isPresent();
                return fallback;
            }
            if (!Addresses.isPort(set.get().value())) {
                problem(field, set.get().value() + " is outside 1-65535");
                return fallback;
            }
            return set.get().value();
        }

        private Addresses.Endpoint agentEndpoint(String address, int agentPort) {
            Optional<Located<String>> set = vars.string(AGENT_ENDPOINT);
            if (set.isEmpty()) {
                failed |= vars.setting(AGENT_ENDPOINT).isPresent();
                return new Addresses.Endpoint(address == null ? "" : address, agentPort);
            }
            try {
                return Addresses.endpoint(set.get().value());
            } catch (Addresses.BadUrl e) {
                problem(AGENT_ENDPOINT, e.getMessage());
                return new Addresses.Endpoint("", agentPort);
            }
        }

        /** Advertised URLs: each must use the scheme and name this host's own address. */
        private List<Located<URI>> advertised(String field, String scheme, String address, int port) {
            Optional<Located<List<Located<String>>>> set = vars.list(field);
            List<Located<URI>> urls = new ArrayList<>();
            if (set.isEmpty()) {
                failed |= vars.setting(field).isPresent();
                if (address != null) {
                    urls.add(new Located<>(URI.create(scheme + "://" + Addresses.hostForUrl(address) + ":" + port), vars.lineOf(ADDRESS)));
                }
                return urls;
            }
            for (Located<String> item : set.get().value()) {
                try {
                    URI url = Addresses.url(item.value(), Set.of(scheme));
                    urls.add(new Located<>(url, item.node()));
                } catch (Addresses.BadUrl e) {
                    vars.problem(item.node(), field, e.getMessage() + schemeHint(item.value(), scheme));
                    failed = true;
                }
            }
            return urls;
        }

        private List<URI> listen(String field, String scheme, List<Located<URI>> advertised) {
            Optional<Located<List<Located<String>>>> set = vars.list(field);
            if (set.isEmpty()) {
                failed |= vars.setting(field).isPresent();
                return values(advertised);
            }
            List<URI> urls = new ArrayList<>();
            for (Located<String> item : set.get().value()) {
                try {
                    urls.add(Addresses.url(item.value(), Set.of(scheme)));
                } catch (Addresses.BadUrl e) {
                    vars.problem(item.node(), field, e.getMessage() + schemeHint(item.value(), scheme));
                    failed = true;
                }
            }
            return urls;
        }

        private static String schemeHint(String url, String scheme) {
            String other = scheme.equals("http") ? "https" : "http";
            return url.strip().toLowerCase(java.util.Locale.ROOT).startsWith(other + "://")
                    ? " (scheme is " + scheme + " for this host: fix the URL or set scheme: " + other + ")" : "";
        }

        private Optional<String> directory(String field) {
            Optional<Located<String>> set = vars.string(field);
            if (set.isEmpty()) {
                failed |= vars.setting(field).isPresent();
                return Optional.empty();
            }
            String dir = set.get().value();
            if (!dir.startsWith("/")) {
                problem(field, "'" + dir + "' must be an absolute path (it is a directory on the etcd host)");
            } else if (List.of(dir.split("/")).contains("..")) {
                problem(field, "'" + dir + "' must not contain '..'");
            } else if (dir.replace("/", "").isEmpty()) {
                problem(field, "'" + dir + "' is the root directory; give etcd a directory of its own");
            } else if (dir.chars().anyMatch(c -> c < 0x20)) {
                problem(field, "'" + dir + "' holds control characters");
            }
            String normalized = dir.replaceAll("/+", "/");
            return Optional.of(normalized.length() > 1 && normalized.endsWith("/")
                    ? normalized.substring(0, normalized.length() - 1) : normalized);
        }

        private String unit(String field, String fallback) {
            Optional<Located<String>> set = vars.string(field);
            if (set.isEmpty()) {
                failed |= vars.setting(field).isPresent();
                return fallback;
            }
            String unit = set.get().value();
            String name = unit.endsWith(".service") ? unit.substring(0, unit.length() - ".service".length()) : unit;
            if (!UNIT_RULE.matcher(name).matches()) {
                problem(field, "'" + unit + "' is not a systemd service name (letters, digits, '_', '.', '@', '-')");
            }
            return name;
        }

        private Integer positive(String field) {
            Optional<Located<Integer>> set = vars.integer(field);
            if (set.isEmpty()) {
                failed |= vars.setting(field).isPresent();
                return null;
            }
            if (set.get().value() <= 0) {
                problem(field, "must be a positive number of milliseconds");
                return null;
            }
            return set.get().value();
        }

        private void checkTimers(Integer heartbeat, Integer election) {
            if (heartbeat == null && election == null) {
                return;
            }
            int h = heartbeat == null ? ETCD_DEFAULT_HEARTBEAT_MS : heartbeat;
            int e = election == null ? ETCD_DEFAULT_ELECTION_MS : election;
            String field = election != null ? ELECTION_TIMEOUT_MS : HEARTBEAT_INTERVAL_MS;
            if (e < 5 * h) {
                problem(field, "etcd requires election_timeout_ms (" + e + (election == null ? ", etcd's default" : "")
                        + ") to be at least 5 times heartbeat_interval_ms (" + h + (heartbeat == null ? ", etcd's default" : "")
                        + "): raise election_timeout_ms to " + (5 * h) + " or more");
            }
            if (e > ETCD_MAX_ELECTION_MS) {
                problem(ELECTION_TIMEOUT_MS, e + " is above etcd's limit of " + ETCD_MAX_ELECTION_MS);
            }
        }

        private void problem(String field, String message) {
            vars.problem(vars.lineOf(field), field, message);
            failed = true;
        }

        private static List<URI> values(List<Located<URI>> located) {
            return located.stream().map(Located::value).toList();
        }
    }
}
