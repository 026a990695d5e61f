package dev.etcdrescue.agent.config;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.spec.Grammar;
import dev.etcdrescue.agent.spec.PathRules;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** The allow-list of extra env settings, each with the grammar its value must match. */
public enum ExtraSetting {
    ETCD_HEARTBEAT_INTERVAL(ExtraSetting::positiveInt),
    ETCD_ELECTION_TIMEOUT(ExtraSetting::positiveInt),
    ETCD_QUOTA_BACKEND_BYTES(ExtraSetting::positiveInt),
    ETCD_SNAPSHOT_COUNT(ExtraSetting::positiveInt),
    ETCD_AUTO_COMPACTION_RETENTION(matching(Grammar.GO_DURATION_OR_INT, "an hour count or a duration like 30m or 1h30m")),
    ETCD_AUTO_COMPACTION_MODE(matching(Pattern.compile("periodic|revision"), "periodic or revision")),
    ETCD_LISTEN_METRICS_URLS(ExtraSetting::urlList),
    ETCD_LOGGER(matching(Pattern.compile("zap|capnslog"), "zap or capnslog")),
    ETCD_LOG_OUTPUTS(ExtraSetting::logOutputs),
    ETCD_LOG_LEVEL(matching(Pattern.compile("debug|info|warn|error|panic|fatal"), "debug, info, warn, error, panic or fatal")),
    ETCD_CERT_FILE(ExtraSetting::path),
    ETCD_KEY_FILE(ExtraSetting::path),
    ETCD_TRUSTED_CA_FILE(ExtraSetting::path),
    ETCD_CLIENT_CERT_AUTH(matching(Grammar.BOOL, "true or false")),
    ETCD_PEER_CERT_FILE(ExtraSetting::path),
    ETCD_PEER_KEY_FILE(ExtraSetting::path),
    ETCD_PEER_TRUSTED_CA_FILE(ExtraSetting::path),
    ETCD_PEER_CLIENT_CERT_AUTH(matching(Grammar.BOOL, "true or false")),
    ETCD_MAX_REQUEST_BYTES(ExtraSetting::positiveInt),
    ETCD_MAX_SNAPSHOTS(ExtraSetting::positiveInt),
    ETCD_MAX_WALS(ExtraSetting::positiveInt),
    ETCD_METRICS(matching(Pattern.compile("basic|extensive"), "basic or extensive")),
    ETCD_CIPHER_SUITES(matching(Pattern.compile("[A-Z0-9_]{1,64}(,[A-Z0-9_]{1,64}){0,31}"),
            "a comma-separated list of Go cipher suite names like TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")),
    ETCD_ENABLE_PPROF(matching(Grammar.BOOL, "true or false"));

    /** Settings whose value is a file etcd reads at start: it must exist on this host before the member starts. */
    private static final java.util.Set<ExtraSetting> FILES = java.util.EnumSet.of(ETCD_CERT_FILE, ETCD_KEY_FILE,
            ETCD_TRUSTED_CA_FILE, ETCD_PEER_CERT_FILE, ETCD_PEER_KEY_FILE, ETCD_PEER_TRUSTED_CA_FILE);

    private static final Map<String, ExtraSetting> BY_NAME = Map.copyOf(
            Arrays.stream(values()).collect(Collectors.toMap(Enum::name, s -> s)));

    private final BiConsumer<String, String> check;

    ExtraSetting(BiConsumer<String, String> check) {
        this.check = check;
    }

    public boolean isFile() {
        return FILES.contains(this);
    }

    public static Optional<ExtraSetting> byName(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }

    /** Throws INVALID_ARGUMENT naming {@code field} unless {@code value} fits this setting's grammar. */
    public void check(String value, String field) {
        check.accept(value, field + " (" + name() + ")");
    }

    private static void positiveInt(String value, String field) {
        Grammar.require(value, Grammar.UNSIGNED_INT, field, "a non-negative integer");
    }

    private static void urlList(String value, String field) {
        if (value == null || value.isEmpty()) {
            throw AgentException.invalidArgument(field + " must be a comma-separated list of URLs");
        }
        String[] urls = value.split(",", -1);
        for (int i = 0; i < urls.length; i++) {
            Grammar.url(urls[i], field + "[" + i + "]");
        }
    }

    /** etcd's --log-outputs: its stream names or files, comma-separated. */
    private static void logOutputs(String value, String field) {
        if (value == null || value.isEmpty()) {
            throw AgentException.invalidArgument(field + " must be a comma-separated list of default, stdout, stderr,"
                    + " systemd/journal or absolute file paths");
        }
        String[] outputs = value.split(",", -1);
        for (int i = 0; i < outputs.length; i++) {
            if (!STREAMS.matcher(outputs[i]).matches()) {
                PathRules.parse(outputs[i], field + "[" + i + "]");
            }
        }
    }

    private static final Pattern STREAMS = Pattern.compile("default|stdout|stderr|systemd/journal");

    private static void path(String value, String field) {
        PathRules.parse(value, field);
    }

    private static BiConsumer<String, String> matching(Pattern grammar, String what) {
        return (value, field) -> Grammar.require(value, grammar, field, what);
    }
}
