package dev.etcdrescue.agent.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.etcdrescue.agent.spec.UnitScope;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Reads agent.yaml into an {@link AgentConfig}. The tree is walked by hand rather than bound, so that
 * every error names the exact key, unknown keys are listed next to the allowed ones, and nothing is
 * silently defaulted except the documented optional keys. {@link YamlTree} reads the file without
 * Jackson databind, which the agent then loads only when an RPC needs it (memory).
 */
public final class AgentConfigLoader {
    private static final Set<String> TOP_KEYS = new TreeSet<>(List.of(
            "host_name", "listen", "tls", "state_dir", "allowed_data_roots", "env_dir", "unit_dir",
            "base_unit_dirs", "tool_dirs", "backup_dirs", "max_claim_ttl", "base_unit", "systemctl",
            "restore_timeout", "command_timeout", "units", "max_snapshot_bytes", "log_dirs", "backup", "metrics",
            "data_port"));
    private static final Set<String> BACKUP_KEYS = new TreeSet<>(List.of("interval", "dir", "cluster", "etcd", "retention", "drill_every",
            "copies", "s3"));
    private static final Set<String> S3_KEYS = new TreeSet<>(List.of("endpoint", "bucket", "prefix", "region", "path_style",
            "credentials_file"));
    private static final Pattern S3_ENDPOINT = Pattern.compile("https?://[A-Za-z0-9.:\\[\\]-]+(:[0-9]{1,5})?/?");
    private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
    private static final Pattern PREFIX = Pattern.compile("([A-Za-z0-9._-]+/)*");
    private static final Pattern REGION = Pattern.compile("[a-z0-9-]{1,40}");
    private static final Set<String> BACKUP_ETCD_KEYS = new TreeSet<>(List.of("endpoint", "ca", "cert", "key"));
    private static final Set<String> RETENTION_KEYS = new TreeSet<>(List.of("keep_last", "hourly", "daily", "weekly"));
    private static final Pattern CLUSTER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final Pattern ENDPOINT = Pattern.compile("https?://[A-Za-z0-9.:\\[\\]-]+:[0-9]{1,5}");
    private static final Set<String> TLS_KEYS = new TreeSet<>(List.of("ca", "cert", "key", "coordinator_cn",
            "coordinator_spki_sha256", "crl"));
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern HOST_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final Pattern UNIT_NAME = Pattern.compile("[A-Za-z0-9_.@-]+");
    private static final Pattern UNIT_GLOB = Pattern.compile("[A-Za-z0-9_.@*-]{1,200}");
    private static final Pattern SIZE = Pattern.compile("([0-9]{1,18}) ?(KiB|MiB|GiB|TiB)?");
    private static final Pattern CN = Pattern.compile("[A-Za-z0-9 ._@-]{1,64}");
    private static final Pattern HOST_PORT = Pattern.compile("(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):([0-9]{1,5})");

    private final Path file;

    private AgentConfigLoader(Path file) {
        this.file = file;
    }

    public static AgentConfig load(Path file) throws ConfigException {
        return new AgentConfigLoader(file).read();
    }

    private AgentConfig read() throws ConfigException {
        YamlNode root;
        try {
            root = YamlTree.read(Files.readString(file));
        } catch (JsonProcessingException e) {
            throw new ConfigException(file, "", "not valid YAML: " + e.getOriginalMessage());
        } catch (NoSuchFileException e) {
            throw new ConfigException(file, "", "no such file: write it from deploy/examples/agent.yaml, or pass --config FILE");
        } catch (AccessDeniedException e) {
            throw new ConfigException(file, "", "permission denied: the agent runs as root and reads it at start");
        } catch (IOException e) {
            throw new ConfigException(file, "", "cannot read it: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new ConfigException(file, "", "must be a YAML mapping of the keys " + TOP_KEYS);
        }
        rejectUnknown(root, TOP_KEYS, "");
        String hostName = matching(root, "host_name", HOST_NAME, "a host name like lv-etcd-research-beta-0");
        String listenText = requiredText(root, "listen");
        InetSocketAddress listen = hostPort(listenText, "listen");
        TlsConfig tls = tls(root);
        Path stateDir = path(root, "state_dir");
        List<Path> allowedDataRoots = paths(root, "allowed_data_roots", true);
        Path envDir = path(root, "env_dir");
        Path unitDir = path(root, "unit_dir");
        List<Path> baseUnitDirs = paths(root, "base_unit_dirs", true);
        List<Path> toolDirs = paths(root, "tool_dirs", true);
        List<Path> backupDirs = root.has("backup_dirs") ? paths(root, "backup_dirs", false) : List.of();
        Duration maxClaimTtl = duration(root, "max_claim_ttl", Duration.ofMinutes(10));
        String baseUnit = root.has("base_unit")
                ? matching(root, "base_unit", UNIT_NAME, "a unit name like etcd") : "etcd";
        Path systemctl = root.has("systemctl") ? path(root, "systemctl") : Path.of("/usr/bin/systemctl");
        Duration restoreTimeout = duration(root, "restore_timeout", Duration.ofMinutes(10));
        Duration commandTimeout = duration(root, "command_timeout", Duration.ofMinutes(2));
        String bareBaseUnit = baseUnit.replaceFirst("\\.service$", "");
        return new AgentConfig(hostName, listen, listenText, tls, stateDir, allowedDataRoots, envDir, unitDir,
                baseUnitDirs, toolDirs, backupDirs, maxClaimTtl, bareBaseUnit,
                systemctl, restoreTimeout, commandTimeout, units(root, bareBaseUnit), size(root, "max_snapshot_bytes"),
                root.has("log_dirs") ? paths(root, "log_dirs", false) : List.of(Path.of("/var/log/etcd")), backup(root), metrics(root),
                dataPort(root));
    }

    private Optional<InetSocketAddress> metrics(YamlNode root) throws ConfigException {
        YamlNode m = root.get("metrics");
        if (m == null || m.isNull()) {
            return Optional.empty();
        }
        if (!m.isObject()) {
            throw new ConfigException(file, "metrics", "must be a mapping with the key listen (address:port to serve /metrics on)");
        }
        rejectUnknown(m, Set.of("listen"), "metrics.");
        return Optional.of(hostPort(requiredText(m, "listen", "metrics."), "metrics.listen"));
    }

    private Optional<BackupConfig> backup(YamlNode root) throws ConfigException {
        YamlNode b = root.get("backup");
        if (b == null || b.isNull()) {
            return Optional.empty();
        }
        if (!b.isObject()) {
            throw new ConfigException(file, "backup", "must be a mapping of the keys " + BACKUP_KEYS);
        }
        rejectUnknown(b, BACKUP_KEYS, "backup.");
        Duration interval = durationAt(b, "interval", "backup.", Duration.ofMinutes(30));
        if (interval.compareTo(Duration.ofSeconds(10)) < 0) {
            throw new ConfigException(file, "backup.interval", "must be at least PT10S, got " + interval);
        }
        Path dir = b.has("dir") ? pathAt(b, "dir", "backup.") : Path.of("/var/backups/etcd-rescue");
        Optional<String> cluster = b.has("cluster")
                ? Optional.of(matching(b, "cluster", CLUSTER, "a cluster name like prod-a", "backup.")) : Optional.empty();
        YamlNode etcd = b.get("etcd");
        if (etcd == null || !etcd.isObject()) {
            throw new ConfigException(file, "backup.etcd", "required: a mapping with the keys " + BACKUP_ETCD_KEYS
                    + " (this member's client URL and, for https, client TLS files)");
        }
        rejectUnknown(etcd, BACKUP_ETCD_KEYS, "backup.etcd.");
        String endpoint = matching(etcd, "endpoint", ENDPOINT, "a client URL like https://10.0.0.1:2379", "backup.etcd.");
        Optional<Path> ca = etcd.has("ca") ? Optional.of(pathAt(etcd, "ca", "backup.etcd.")) : Optional.empty();
        Optional<Path> cert = etcd.has("cert") ? Optional.of(pathAt(etcd, "cert", "backup.etcd.")) : Optional.empty();
        Optional<Path> key = etcd.has("key") ? Optional.of(pathAt(etcd, "key", "backup.etcd.")) : Optional.empty();
        if (cert.isPresent() != key.isPresent()) {
            throw new ConfigException(file, "backup.etcd." + (cert.isPresent() ? "key" : "cert"), "required with backup.etcd."
                    + (cert.isPresent() ? "cert" : "key") + ": a client certificate needs its key");
        }
        Optional<Duration> drillEvery = b.has("drill_every") ? Optional.of(durationAt(b, "drill_every", "backup.", Duration.ZERO))
                : Optional.empty();
        Optional<BackupConfig.S3> s3 = s3(b);
        if (s3.isPresent() && cluster.isEmpty()) {
            throw new ConfigException(file, "backup.cluster", "required with backup.s3: the objects are kept under <prefix><cluster>/,"
                    + " and an agent lists only its own cluster's (set it to the inventory's group name, the same on every host)");
        }
        return Optional.of(new BackupConfig(interval, dir, cluster,
                new BackupConfig.EtcdAccess(java.net.URI.create(endpoint), ca, cert, key), retention(b), drillEvery, copies(b), s3));
    }

    private Optional<BackupConfig.S3> s3(YamlNode b) throws ConfigException {
        YamlNode s = b.get("s3");
        if (s == null || s.isNull()) {
            return Optional.empty();
        }
        if (!s.isObject()) {
            throw new ConfigException(file, "backup.s3", "must be a mapping of the keys " + S3_KEYS);
        }
        for (String secret : List.of("access_key", "secret_key", "aws_access_key_id", "aws_secret_access_key")) {
            if (s.has(secret)) {
                throw new ConfigException(file, "backup.s3." + secret, "secrets never go into agent.yaml: put them into the file"
                        + " backup.s3.credentials_file names (mode 600), and remove the value from this file");
            }
        }
        rejectUnknown(s, S3_KEYS, "backup.s3.");
        Optional<java.net.URI> endpoint = s.has("endpoint")
                ? Optional.of(java.net.URI.create(matching(s, "endpoint", S3_ENDPOINT, "the store's URL like https://s3.example.net:9000",
                "backup.s3."))) : Optional.empty();
        String bucket = matching(s, "bucket", BUCKET, "a bucket name (3 to 63 of a-z, 0-9, '.', '-')", "backup.s3.");
        String prefix = s.has("prefix") ? requiredText(s, "prefix", "backup.s3.") : "";
        if (!prefix.isEmpty() && !prefix.endsWith("/")) {
            prefix = prefix + "/";
        }
        if (!PREFIX.matcher(prefix).matches()) {
            throw new ConfigException(file, "backup.s3.prefix", "must be path segments of [A-Za-z0-9._-] separated by '/', like"
                    + " etcd-backups/, got '" + prefix + "'");
        }
        String region = s.has("region") ? matching(s, "region", REGION, "a region like us-east-1", "backup.s3.") : "us-east-1";
        boolean pathStyle = false;
        if (s.has("path_style")) {
            String text = requiredText(s, "path_style", "backup.s3.");
            if (!text.equals("true") && !text.equals("false")) {
                throw new ConfigException(file, "backup.s3.path_style", "must be true or false, got '" + text + "'");
            }
            pathStyle = text.equals("true");
        }
        Path credentials = pathAt(s, "credentials_file", "backup.s3.");
        try {
            S3Credentials.read(credentials);
        } catch (S3Credentials.Unusable e) {
            throw new ConfigException(file, "backup.s3.credentials_file", e.getMessage());
        }
        return Optional.of(new BackupConfig.S3(endpoint, bucket, prefix, region, pathStyle, credentials));
    }

    private int copies(YamlNode b) throws ConfigException {
        YamlNode value = b.get("copies");
        if (value == null || value.isNull()) {
            return BackupConfig.DEFAULT_COPIES;
        }
        String text = value.isValueNode() ? value.asText().strip() : "";
        if (!text.matches("[0-9]") || Integer.parseInt(text) > 6) {
            throw new ConfigException(file, "backup.copies", "must be a whole number from 0 (no copies on peers) to 6, got '" + text + "'");
        }
        return Integer.parseInt(text);
    }

    private BackupConfig.Retention retention(YamlNode b) throws ConfigException {
        YamlNode r = b.get("retention");
        if (r == null || r.isNull()) {
            return BackupConfig.Retention.DEFAULT;
        }
        if (!r.isObject()) {
            throw new ConfigException(file, "backup.retention", "must be a mapping of the keys " + RETENTION_KEYS);
        }
        rejectUnknown(r, RETENTION_KEYS, "backup.retention.");
        BackupConfig.Retention d = BackupConfig.Retention.DEFAULT;
        BackupConfig.Retention kept = new BackupConfig.Retention(count(r, "keep_last", d.keepLast()), count(r, "hourly", d.hourly()),
                count(r, "daily", d.daily()), count(r, "weekly", d.weekly()));
        if (kept.keepLast() < 1) {
            throw new ConfigException(file, "backup.retention.keep_last", "must be at least 1: the newest backup is always kept");
        }
        return kept;
    }

    private int count(YamlNode node, String key, int fallback) throws ConfigException {
        YamlNode value = node.get(key);
        if (value == null || value.isNull()) {
            return fallback;
        }
        String text = value.isValueNode() ? value.asText().strip() : "";
        if (!text.matches("[0-9]{1,5}") || Integer.parseInt(text) > 10_000) {
            throw new ConfigException(file, "backup.retention." + key, "must be a whole number from 0 to 10000, got '" + text + "'");
        }
        return Integer.parseInt(text);
    }

    /** data_port: a port, 0 for any free one, or off; absent: the port after listen's (AgentConfig). */
    private int dataPort(YamlNode root) throws ConfigException {
        if (!root.has("data_port")) {
            return AgentConfig.DATA_PORT_NEXT_TO_LISTEN;
        }
        String text = requiredText(root, "data_port");
        // YAML 1.1 reads a bare off as the boolean false.
        if (text.equals("off") || text.equals("false")) {
            return AgentConfig.DATA_PORT_OFF;
        }
        if (!text.matches("[0-9]{1,5}") || Integer.parseInt(text) > 65535) {
            throw new ConfigException(file, "data_port", "must be a port (0 to 65535, 0 for any free one) or off, got '" + text + "'");
        }
        return Integer.parseInt(text);
    }

    private TlsConfig tls(YamlNode root) throws ConfigException {
        YamlNode tls = root.get("tls");
        if (tls == null || !tls.isObject()) {
            throw new ConfigException(file, "tls", "required: a mapping with the keys " + TLS_KEYS);
        }
        rejectUnknown(tls, TLS_KEYS, "tls.");
        Optional<String> coordinatorCn = tls.has("coordinator_cn")
                ? Optional.of(matching(tls, "coordinator_cn", CN, "a certificate CN", "tls."))
                : Optional.empty();
        Optional<Path> crl = tls.has("crl") ? Optional.of(pathAt(tls, "crl", "tls.")) : Optional.empty();
        return new TlsConfig(pathAt(tls, "ca", "tls."), pathAt(tls, "cert", "tls."), pathAt(tls, "key", "tls."),
                coordinatorCn, pins(tls), crl);
    }

    private List<String> pins(YamlNode tls) throws ConfigException {
        YamlNode value = tls.get("coordinator_spki_sha256");
        if (value == null || value.isNull()) {
            return List.of();
        }
        List<YamlNode> items = new ArrayList<>();
        if (value.isArray()) {
            for (int i = 0; i < value.size(); i++) {
                items.add(value.get(i));
            }
        } else {
            items.add(value);
        }
        List<String> pins = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            String text = items.get(i).isValueNode() ? items.get(i).asText().strip().toLowerCase(java.util.Locale.ROOT) : "";
            if (!SHA256_HEX.matcher(text).matches()) {
                throw new ConfigException(file, "tls.coordinator_spki_sha256" + (value.isArray() ? "[" + i + "]" : ""),
                        "must be the 64 hex digits 'etcd-rescue pki issue-coordinator' prints, got '" + text + "'");
            }
            pins.add(text);
        }
        if (pins.isEmpty()) {
            throw new ConfigException(file, "tls.coordinator_spki_sha256", "must name at least one key, or be left out");
        }
        return List.copyOf(pins);
    }

    private void rejectUnknown(YamlNode node, Set<String> allowed, String prefix) throws ConfigException {
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!allowed.contains(name)) {
                throw new ConfigException(file, prefix + name, "unknown key; allowed keys are " + allowed);
            }
        }
    }

    private String requiredText(YamlNode node, String key) throws ConfigException {
        return requiredText(node, key, "");
    }

    private String requiredText(YamlNode node, String key, String prefix) throws ConfigException {
        YamlNode value = node.get(key);
        if (value == null || value.isNull()) {
            throw new ConfigException(file, prefix + key, "required");
        }
        if (!value.isValueNode() || value.asText().isBlank()) {
            throw new ConfigException(file, prefix + key, "must be a non-empty string");
        }
        return value.asText().strip();
    }

    private String matching(YamlNode node, String key, Pattern grammar, String what) throws ConfigException {
        return matching(node, key, grammar, what, "");
    }

    private String matching(YamlNode node, String key, Pattern grammar, String what, String prefix)
            throws ConfigException {
        String text = requiredText(node, key, prefix);
        if (!grammar.matcher(text).matches()) {
            throw new ConfigException(file, prefix + key, "must be " + what + ", got '" + text + "'");
        }
        return text;
    }

    private InetSocketAddress hostPort(String text, String field) throws ConfigException {
        var m = HOST_PORT.matcher(text);
        if (!m.matches()) {
            throw new ConfigException(file, field, "must be address:port (e.g. 192.168.149.60:7443), got '" + text + "'");
        }
        int port = Integer.parseInt(m.group(2));
        if (port > 65535) {
            throw new ConfigException(file, field, "port " + port + " is out of range");
        }
        String host = m.group(1).replaceAll("^\\[|\\]$", "");
        return new InetSocketAddress(host, port);
    }

    private Path path(YamlNode node, String key) throws ConfigException {
        return pathAt(node, key, "");
    }

    private Path pathAt(YamlNode node, String key, String prefix) throws ConfigException {
        return checkedPath(requiredText(node, key, prefix), prefix + key);
    }

    private Path checkedPath(String text, String field) throws ConfigException {
        Path path;
        try {
            path = Path.of(text);
        } catch (RuntimeException e) {
            throw new ConfigException(file, field, "not a path: '" + text + "'");
        }
        if (!path.isAbsolute()) {
            throw new ConfigException(file, field, "must be an absolute path, got '" + text + "'");
        }
        if (!path.normalize().equals(path)) {
            throw new ConfigException(file, field, "must be a normalized path (no '.' or '..'), got '"
                    + text + "'; did you mean " + path.normalize() + "?");
        }
        return path.normalize();
    }

    private List<Path> paths(YamlNode root, String key, boolean required) throws ConfigException {
        YamlNode value = root.get(key);
        if (value == null || value.isNull()) {
            if (required) {
                throw new ConfigException(file, key, "required: a list of absolute paths");
            }
            return List.of();
        }
        if (!value.isArray() || (required && value.isEmpty())) {
            throw new ConfigException(file, key, "must be a " + (required ? "non-empty " : "") + "list of absolute paths");
        }
        List<Path> result = new ArrayList<>();
        for (int i = 0; i < value.size(); i++) {
            YamlNode item = value.get(i);
            if (!item.isTextual()) {
                throw new ConfigException(file, key + "[" + i + "]", "must be a path string");
            }
            result.add(checkedPath(item.asText().strip(), key + "[" + i + "]"));
        }
        return List.copyOf(result);
    }

    /** The configured unit names and globs (default {@link UnitScope#DEFAULT}), plus the base unit. */
    private List<String> units(YamlNode root, String baseUnit) throws ConfigException {
        List<String> units = new ArrayList<>(UnitScope.DEFAULT);
        YamlNode value = root.get("units");
        if (value != null && !value.isNull()) {
            if (!value.isArray() || value.isEmpty()) {
                throw new ConfigException(file, "units", "must be a non-empty list of unit names or globs like etcd_*");
            }
            units.clear();
            for (int i = 0; i < value.size(); i++) {
                YamlNode item = value.get(i);
                String text = item.isTextual() ? item.asText().strip() : "";
                if (!UNIT_GLOB.matcher(text).matches() || text.equals("*")) {
                    throw new ConfigException(file, "units[" + i + "]", "must be a unit name or a glob like etcd_*"
                            + " ([A-Za-z0-9_.@-] and *, not * alone), got '" + text + "'");
                }
                units.add(text.replaceFirst("\\.service$", ""));
            }
        }
        if (!units.contains(baseUnit)) {
            units.add(baseUnit);
        }
        return List.copyOf(units);
    }

    /** A byte count: digits, or digits with a binary suffix (KiB, MiB, GiB, TiB); 0 when absent. */
    private long size(YamlNode root, String key) throws ConfigException {
        if (!root.has(key)) {
            return 0;
        }
        String text = requiredText(root, key);
        var m = SIZE.matcher(text);
        if (!m.matches()) {
            throw new ConfigException(file, key, "must be a size in bytes like 17179869184 or 16GiB, got '" + text + "'");
        }
        int shift = switch (m.group(2) == null ? "" : m.group(2)) {
            case "KiB" -> 10;
            case "MiB" -> 20;
            case "GiB" -> 30;
            case "TiB" -> 40;
            default -> 0;
        };
        long value = Long.parseLong(m.group(1));
        if (value <= 0 || value > (Long.MAX_VALUE >> shift)) {
            throw new ConfigException(file, key, "must be positive and below 2^63 bytes, got '" + text + "'");
        }
        return value << shift;
    }

    private Duration duration(YamlNode root, String key, Duration fallback) throws ConfigException {
        return durationAt(root, key, "", fallback);
    }

    private Duration durationAt(YamlNode node, String key, String prefix, Duration fallback) throws ConfigException {
        if (!node.has(key)) {
            return fallback;
        }
        String text = requiredText(node, key, prefix);
        try {
            Duration d = Duration.parse(text);
            if (d.isNegative() || d.isZero()) {
                throw new ConfigException(file, prefix + key, "must be positive, got '" + text + "'");
            }
            return d;
        } catch (DateTimeParseException e) {
            throw new ConfigException(file, prefix + key, "must be an ISO-8601 duration like PT10M, got '" + text + "'");
        }
    }
}
