package dev.etcdrescue.coordinator.inventory;

import dev.etcdrescue.coordinator.inventory.HostVariables.Located;
import dev.etcdrescue.coordinator.inventory.RawInventory.Setting;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * {@code etcd_settings}: settings of the old member's env file that the new member must keep
 * (quota, compaction, logging, metrics...), written as etcd's flag names without dashes
 * ({@code quota_backend_bytes: 8589934592}). Each is checked here against the same grammar the agent
 * applies to its {@code ETCD_*} extra, so a bad value is reported with its line before any host is touched.
 * Settings that would break a restored member are refused with the reason.
 */
public final class EtcdSettings {
    private EtcdSettings() {}

    private static final Pattern WHOLE = Pattern.compile("[0-9]{1,18}");
    private static final Pattern GO_DURATION_OR_INT = Pattern.compile("[0-9]{1,9}|([0-9]{1,9}(\\.[0-9]{1,9})?(ns|us|ms|s|m|h)){1,4}");
    /** Go's time.ParseDuration, which etcd's duration flags use: a unit is required except for 0. */
    private static final Pattern GO_DURATION = Pattern.compile("0|([0-9]{1,9}(\\.[0-9]{1,9})?(ns|us|ms|s|m|h)){1,4}");
    private static final Pattern BOOL = Pattern.compile("true|false");
    private static final Pattern FEATURE_GATES = Pattern.compile("[A-Za-z0-9]{1,64}=(true|false)(,[A-Za-z0-9]{1,64}=(true|false)){0,31}");
    private static final Pattern CIPHER_SUITES = Pattern.compile("[A-Z0-9_]{1,64}(,[A-Z0-9_]{1,64}){0,31}");
    private static final String LOG_OUTPUT = "(default|stdout|stderr|systemd/journal|/[A-Za-z0-9._/+@:-]{1,255})";
    private static final Pattern LOG_OUTPUTS = Pattern.compile(LOG_OUTPUT + "(," + LOG_OUTPUT + "){0,15}");
    /** etcd's default ports: the old member on this host may hold them until the cut-over. */
    private static final Set<Integer> OLD_MEMBER_PORTS = Set.of(2379, 2380);

    /** One allowed setting: the env name the agent accepts, its grammar and how to say it. */
    private record Rule(String env, Pattern grammar, String what) {}

    private static final Map<String, Rule> RULES = new LinkedHashMap<>();

    static {
        RULES.put("quota_backend_bytes", new Rule("ETCD_QUOTA_BACKEND_BYTES", WHOLE, "a whole number of bytes"));
        RULES.put("snapshot_count", new Rule("ETCD_SNAPSHOT_COUNT", WHOLE, "a whole number"));
        RULES.put("auto_compaction_retention", new Rule("ETCD_AUTO_COMPACTION_RETENTION", GO_DURATION_OR_INT,
                "an hour count or a duration like 30m or 1h30m"));
        RULES.put("auto_compaction_mode", new Rule("ETCD_AUTO_COMPACTION_MODE", Pattern.compile("periodic|revision"),
                "periodic or revision"));
        RULES.put("heartbeat_interval", new Rule("ETCD_HEARTBEAT_INTERVAL", WHOLE, "a whole number of milliseconds"));
        RULES.put("election_timeout", new Rule("ETCD_ELECTION_TIMEOUT", WHOLE, "a whole number of milliseconds"));
        RULES.put("listen_metrics_urls", new Rule("ETCD_LISTEN_METRICS_URLS", null, "a list of http(s)://HOST:PORT URLs"));
        RULES.put("log_level", new Rule("ETCD_LOG_LEVEL", Pattern.compile("debug|info|warn|error|panic|fatal"),
                "debug, info, warn, error, panic or fatal"));
        RULES.put("log_outputs", new Rule("ETCD_LOG_OUTPUTS", LOG_OUTPUTS,
                "a comma-separated list of default, stdout, stderr, systemd/journal or absolute file paths"));
        RULES.put("logger", new Rule("ETCD_LOGGER", Pattern.compile("zap|capnslog"), "zap or capnslog"));
        RULES.put("max_request_bytes", new Rule("ETCD_MAX_REQUEST_BYTES", WHOLE, "a whole number of bytes"));
        RULES.put("max_snapshots", new Rule("ETCD_MAX_SNAPSHOTS", WHOLE, "a whole number"));
        RULES.put("max_wals", new Rule("ETCD_MAX_WALS", WHOLE, "a whole number"));
        RULES.put("metrics", new Rule("ETCD_METRICS", Pattern.compile("basic|extensive"), "basic or extensive"));
        RULES.put("cipher_suites", new Rule("ETCD_CIPHER_SUITES", CIPHER_SUITES,
                "a comma-separated list of cipher suite names like TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"));
        RULES.put("enable_pprof", new Rule("ETCD_ENABLE_PPROF", Pattern.compile("true|false"), "true or false"));
        // 3.6 renamed these; each host gets the name its etcd reads (EtcdSettingVersions), under either name here.
        for (EtcdSettingVersions.Row row : EtcdSettingVersions.ROWS) {
            if (row.carried()) {
                versioned(row.experimental(), row.kind());
                if (row.renamed() != null) {
                    versioned(row.renamed(), row.kind());
                }
            }
        }
        RULES.put("feature_gates", new Rule(EtcdSettingVersions.FEATURE_GATES, FEATURE_GATES,
                "a comma-separated list of Name=true or Name=false (etcd 3.6+)"));
    }

    private static void versioned(String env, EtcdSettingVersions.Kind kind) {
        Rule rule = switch (kind) {
            case BOOL -> new Rule(env, BOOL, "true or false");
            case DURATION -> new Rule(env, GO_DURATION, "a duration like 500ms, 10m or 1h30m");
            case COUNT -> new Rule(env, WHOLE, "a whole number");
            case TEXT -> throw new IllegalArgumentException(env + ": text settings are not carried");
        };
        RULES.put(env.substring("ETCD_".length()).toLowerCase(java.util.Locale.ROOT), rule);
    }

    /** Settings that would break the restored member, with what to do instead. */
    private static final Map<String, String> REFUSED = new LinkedHashMap<>();

    static {
        String fromPlan = "is written by etcd-rescue from the plan";
        REFUSED.put("name", fromPlan + "; set etcd_name");
        REFUSED.put("data_dir", fromPlan + "; set data_dir (the old data dir must stay untouched)");
        REFUSED.put("wal_dir", fromPlan + "; set wal_dir");
        REFUSED.put("initial_cluster", fromPlan + ": the restored cluster is exactly the inventory's hosts");
        REFUSED.put("initial_cluster_state", "must be 'new' for a restored member (etcd-rescue writes it): with 'existing'"
                + " it would wait to join a cluster that is gone");
        REFUSED.put("initial_cluster_token", fromPlan + "; set cluster_token");
        REFUSED.put("initial_advertise_peer_urls", fromPlan + "; set peer_urls or peer_port");
        REFUSED.put("advertise_client_urls", fromPlan + "; set client_urls or client_port");
        REFUSED.put("listen_peer_urls", fromPlan + "; set listen_peer_urls (a variable of its own)");
        REFUSED.put("listen_client_urls", fromPlan + "; set listen_client_urls (a variable of its own)");
        REFUSED.put("force_new_cluster", "would make a one-member cluster out of every host; etcd-rescue restores all members together");
        REFUSED.put("discovery", "the restored members find each other through initial_cluster, not discovery");
        REFUSED.put("discovery_srv", "the restored members find each other through initial_cluster, not discovery");
        String tls = "is written by etcd-rescue from the etcd_*_file variables; set ";
        REFUSED.put("cert_file", tls + "etcd_cert_file");
        REFUSED.put("key_file", tls + "etcd_key_file");
        REFUSED.put("trusted_ca_file", tls + "etcd_ca_file");
        REFUSED.put("client_cert_auth", tls + "etcd_ca_file (client-certificate auth is on whenever the URLs are https)");
        REFUSED.put("peer_cert_file", tls + "etcd_peer_cert_file");
        REFUSED.put("peer_key_file", tls + "etcd_peer_key_file");
        REFUSED.put("peer_trusted_ca_file", tls + "etcd_peer_ca_file");
        REFUSED.put("peer_client_cert_auth", tls + "etcd_peer_ca_file (peer certificate auth is on whenever the URLs are https)");
    }

    /**
     * The {@code ETCD_*} names of the settings etcd-rescue carries over from an old member's env file:
     * exactly those {@code etcd_settings} accepts, in the same order.
     */
    public static List<String> carriedEnvNames() {
        return RULES.values().stream().map(Rule::env).toList();
    }

    /**
     * Checks a carried value against the grammar {@code etcd_settings} applies (and the agent applies
     * again): empty when it fits, otherwise what the value must be. {@code ETCD_LISTEN_METRICS_URLS}
     * has no single grammar (it is remapped per URL) and always passes here.
     */
    public static Optional<String> grammarProblem(String env, String value) {
        Rule rule = RULES.values().stream().filter(r -> r.env().equals(env)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException(env + " is not carried over"));
        if (rule.grammar() == null || rule.grammar().matcher(value).matches()) {
            return Optional.empty();
        }
        return Optional.of(rule.what());
    }

    /** The names {@code etcd_settings} accepts, for messages and docs. */
    static List<String> allowed() {
        return List.copyOf(RULES.keySet());
    }

    /**
     * The checked settings of one host: ETCD_* name to value, in the order written; {@code ok} is false
     * when one had a problem (reported), the others are still there for the checks across variables.
     */
    record Resolved(Map<String, String> env, Located<Integer> heartbeat, Located<Integer> election, boolean ok) {}

    /**
     * @param ownPorts the ports this member listens on (client and peer), which a metrics URL must not take
     * @param oldPorts ports of the old member on this host known from snapshot_endpoints
     */
    static Resolved resolve(HostVariables vars, String address, Set<Integer> ownPorts, Set<Integer> oldPorts) {
        Optional<Located<List<Setting>>> mapping = vars.mapping(Variables.ETCD_SETTINGS);
        if (mapping.isEmpty()) {
            return new Resolved(Map.of(), null, null, vars.setting(Variables.ETCD_SETTINGS).isEmpty());
        }
        Map<String, String> env = new LinkedHashMap<>();
        Located<Integer> heartbeat = null;
        Located<Integer> election = null;
        boolean ok = true;
        for (Setting entry : mapping.get().value()) {
            String name = entry.name();
            String field = Variables.ETCD_SETTINGS + "." + name;
            Rule rule = RULES.get(name);
            if (rule == null) {
                String why = REFUSED.get(normalized(name));
                vars.problem(entry.key(), field, why != null ? "refused: " + why
                        : "unknown setting '" + name + "'" + (normalized(name).equals(name) ? "" : " (write etcd's flag name"
                          + " in lower case with '_', e.g. quota_backend_bytes)") + "; allowed: " + String.join(", ", RULES.keySet()));
                ok = false;
                continue;
            }
            Optional<String> value = rule.env().equals("ETCD_LISTEN_METRICS_URLS")
                    ? metricsUrls(vars, entry, field, address, ownPorts, oldPorts)
                    : scalar(vars, entry, field, rule);
            if (value.isEmpty()) {
                ok = false;
                continue;
            }
            // The timers also have variables of their own; MemberResolver merges both and checks etcd's 5x rule.
            if (name.equals("heartbeat_interval")) {
                heartbeat = milliseconds(vars, entry, field, value.get());
                ok &= heartbeat != null;
            } else if (name.equals("election_timeout")) {
                election = milliseconds(vars, entry, field, value.get());
                ok &= election != null;
            } else {
                env.put(rule.env(), value.get());
            }
        }
        return new Resolved(env, heartbeat, election, ok);
    }

    /** {@code ETCD_QUOTA-BACKEND-BYTES}, {@code --quota-backend-bytes} or {@code QUOTA_BACKEND_BYTES} as etcd's flag name. */
    private static String normalized(String name) {
        String bare = name.strip().toLowerCase(java.util.Locale.ROOT).replaceFirst("^-+", "").replace('-', '_');
        return bare.startsWith("etcd_") ? bare.substring("etcd_".length()) : bare;
    }

    private static Optional<String> scalar(HostVariables vars, Setting entry, String field, Rule rule) {
        Node node = entry.value();
        if (!(node instanceof ScalarNode scalar) || InventoryParser.isNull(node)) {
            vars.problem(entry.key(), field, "must be " + rule.what() + ", not " + (InventoryParser.isNull(node) ? "empty"
                    : InventoryParser.kind(node)));
            return Optional.empty();
        }
        String value = scalar.getValue().strip();
        if (!rule.grammar().matcher(value).matches()) {
            vars.problem(entry.key(), field, "'" + value + "' is not " + rule.what());
            return Optional.empty();
        }
        return Optional.of(value);
    }

    private static Located<Integer> milliseconds(HostVariables vars, Setting entry, String field, String value) {
        if (value.length() > 9 || Integer.parseInt(value) <= 0) {
            vars.problem(entry.key(), field, "must be a positive number of milliseconds");
            return null;
        }
        return new Located<>(Integer.parseInt(value), entry.key());
    }

    /**
     * A list (or one comma-separated value) of URLs on this host, on a port neither the new member
     * nor the old one holds: etcd fails to start when it cannot bind its metrics listener.
     */
    private static Optional<String> metricsUrls(HostVariables vars, Setting entry, String field, String address,
                                                Set<Integer> ownPorts, Set<Integer> oldPorts) {
        List<Node> items = new ArrayList<>();
        if (entry.value() instanceof SequenceNode sequence) {
            items.addAll(sequence.getValue());
        } else if (entry.value() instanceof ScalarNode scalar && !InventoryParser.isNull(scalar)) {
            for (String part : scalar.getValue().split(",")) {
                items.add(new ScalarNode(scalar.getTag(), part.strip(), scalar.getStartMark(), scalar.getEndMark(), scalar.getScalarStyle()));
            }
        }
        if (items.isEmpty()) {
            vars.problem(entry.key(), field, "must list at least one URL, e.g. [http://127.0.0.1:2381]");
            return Optional.empty();
        }
        List<String> urls = new ArrayList<>();
        boolean ok = true;
        for (Node item : items) {
            if (!(item instanceof ScalarNode scalar)) {
                vars.problem(item, field, "list items must be single URLs, not " + InventoryParser.kind(item));
                ok = false;
                continue;
            }
            URI url;
            try {
                url = Addresses.url(scalar.getValue(), Set.of("http", "https"));
            } catch (Addresses.BadUrl e) {
                vars.problem(item, field, e.getMessage());
                ok = false;
                continue;
            }
            String host = Addresses.canonical(Addresses.host(url));
            boolean local = host.equals(Addresses.canonical(address)) || host.equals("127.0.0.1") || host.equals("0:0:0:0:0:0:0:1")
                    || host.equals("localhost") || host.equals("0.0.0.0") || host.equals("0:0:0:0:0:0:0:0");
            if (!local) {
                vars.problem(item, field, url + " is not on this host (" + address
                        + ", 127.0.0.1, 0.0.0.0): etcd can only listen on its own addresses");
                ok = false;
            } else if (ownPorts.contains(url.getPort())) {
                vars.problem(item, field, url + " uses port " + url.getPort() + ", which the new member listens on for clients or peers;"
                        + " choose another metrics port");
                ok = false;
            } else if (oldPorts.contains(url.getPort()) || OLD_MEMBER_PORTS.contains(url.getPort())) {
                vars.problem(item, field, url + " uses port " + url.getPort() + ", which the old member on this host holds"
                        + " until the cut-over (the new member would fail to start); choose another metrics port, e.g. 22381");
                ok = false;
            } else {
                urls.add(url.toString());
            }
        }
        return ok ? Optional.of(String.join(",", urls)) : Optional.empty();
    }
}
