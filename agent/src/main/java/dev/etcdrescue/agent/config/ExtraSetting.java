package dev.etcdrescue.agent.config;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.spec.Grammar;
import dev.etcdrescue.agent.spec.PathRules;
import dev.etcdrescue.proto.v1.EnvSetting;
import java.util.Arrays;
import java.util.List;
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
    ETCD_ENABLE_PPROF(matching(Grammar.BOOL, "true or false")),
    // etcd 3.6 renamed the experimental settings (plain names, or feature gates); the coordinator writes the name
    // the host's etcd reads (its EtcdSettingVersions), so both are allowed here.
    ETCD_EXPERIMENTAL_COMPACT_HASH_CHECK_TIME(ExtraSetting::duration),
    ETCD_COMPACT_HASH_CHECK_TIME(ExtraSetting::duration),
    ETCD_EXPERIMENTAL_CORRUPT_CHECK_TIME(ExtraSetting::duration),
    ETCD_CORRUPT_CHECK_TIME(ExtraSetting::duration),
    ETCD_EXPERIMENTAL_COMPACTION_SLEEP_INTERVAL(ExtraSetting::duration),
    ETCD_COMPACTION_SLEEP_INTERVAL(ExtraSetting::duration),
    ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL(ExtraSetting::duration),
    ETCD_WATCH_PROGRESS_NOTIFY_INTERVAL(ExtraSetting::duration),
    ETCD_EXPERIMENTAL_WARNING_APPLY_DURATION(ExtraSetting::duration),
    ETCD_WARNING_APPLY_DURATION(ExtraSetting::duration),
    ETCD_EXPERIMENTAL_WARNING_UNARY_REQUEST_DURATION(ExtraSetting::duration),
    ETCD_WARNING_UNARY_REQUEST_DURATION(ExtraSetting::duration),
    ETCD_EXPERIMENTAL_DOWNGRADE_CHECK_TIME(ExtraSetting::duration),
    ETCD_DOWNGRADE_CHECK_TIME(ExtraSetting::duration),
    ETCD_EXPERIMENTAL_COMPACTION_BATCH_LIMIT(ExtraSetting::positiveInt),
    ETCD_COMPACTION_BATCH_LIMIT(ExtraSetting::positiveInt),
    ETCD_EXPERIMENTAL_BOOTSTRAP_DEFRAG_THRESHOLD_MEGABYTES(ExtraSetting::positiveInt),
    ETCD_BOOTSTRAP_DEFRAG_THRESHOLD_MEGABYTES(ExtraSetting::positiveInt),
    ETCD_EXPERIMENTAL_SNAPSHOT_CATCHUP_ENTRIES(ExtraSetting::positiveInt),
    ETCD_SNAPSHOT_CATCHUP_ENTRIES(ExtraSetting::positiveInt),
    ETCD_EXPERIMENTAL_MEMORY_MLOCK(matching(Grammar.BOOL, "true or false")),
    ETCD_MEMORY_MLOCK(matching(Grammar.BOOL, "true or false")),
    ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK(matching(Grammar.BOOL, "true or false")),
    ETCD_EXPERIMENTAL_COMPACT_HASH_CHECK_ENABLED(matching(Grammar.BOOL, "true or false")),
    ETCD_EXPERIMENTAL_ENABLE_LEASE_CHECKPOINT(matching(Grammar.BOOL, "true or false")),
    ETCD_EXPERIMENTAL_ENABLE_LEASE_CHECKPOINT_PERSIST(matching(Grammar.BOOL, "true or false")),
    ETCD_EXPERIMENTAL_STOP_GRPC_SERVICE_ON_DEFRAG(matching(Grammar.BOOL, "true or false")),
    ETCD_EXPERIMENTAL_TXN_MODE_WRITE_WITH_SHARED_BUFFER(matching(Grammar.BOOL, "true or false")),
    ETCD_FEATURE_GATES(matching(Pattern.compile("[A-Za-z0-9]{1,64}=(true|false)(,[A-Za-z0-9]{1,64}=(true|false)){0,31}"),
            "a comma-separated list of Name=true or Name=false"));

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

    /** Go's time.ParseDuration, as etcd's duration flags read it: a unit is required except for 0. */
    private static final Pattern DURATION = Pattern.compile("0|([0-9]{1,9}(\\.[0-9]{1,9})?(ns|us|ms|s|m|h)){1,4}");

    private static void duration(String value, String field) {
        Grammar.require(value, DURATION, field, "a duration like 500ms, 10m or 1h30m");
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

    /**
     * The files among ETCD_LOG_OUTPUTS must lie inside agent.yaml's log_dirs: etcd appends to them as
     * its unit's User=, which is root for a unit without one, so any path would be a root write.
     */
    public static void requireLogFilesInside(List<EnvSetting> extras, PathRules logDirs) {
        for (int i = 0; i < extras.size(); i++) {
            EnvSetting extra = extras.get(i);
            if (!extra.getKey().equals(ETCD_LOG_OUTPUTS.name())) {
                continue;
            }
            String[] outputs = extra.getValue().split(",", -1);
            for (int j = 0; j < outputs.length; j++) {
                if (!STREAMS.matcher(outputs[j]).matches()) {
                    logDirs.requireInside(outputs[j], "extra[" + i + "].value (ETCD_LOG_OUTPUTS)[" + j + "]");
                }
            }
        }
    }

    private static void path(String value, String field) {
        PathRules.parse(value, field);
    }

    private static BiConsumer<String, String> matching(Pattern grammar, String what) {
        return (value, field) -> Grammar.require(value, grammar, field, what);
    }
}
