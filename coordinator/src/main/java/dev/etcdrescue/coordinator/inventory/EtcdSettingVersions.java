package dev.etcdrescue.coordinator.inventory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What one etcd version makes of an {@code ETCD_*} setting: keep it, rename it to the name that
 * version reads, or refuse it. etcd 3.6 renamed the {@code --experimental-*} flags (the old names
 * still work there, with a warning) and moved the boolean ones into {@code --feature-gates}; 3.7
 * dropped the old names. etcd only logs an environment variable it does not know ("unrecognized
 * environment variable", {@code pkg/flags/flag.go} {@code verifyEnv}), so a stale name would lose the
 * setting without a word: it is renamed, not just warned about. Setting a flag under both names is
 * fatal on 3.6, so only one name is ever written.
 */
public final class EtcdSettingVersions {
    private EtcdSettingVersions() {}

    /** What to write for one setting. */
    public sealed interface Verdict permits Keep, Rename, Refuse {}

    /** @param note why it deserves a report line; empty when there is nothing to say */
    public record Keep(String note) implements Verdict {}

    public record Rename(String name, String value, String why) implements Verdict {}

    public record Refuse(String why) implements Verdict {}

    /** How a setting's value is written, for the grammars of {@link EtcdSettings}. */
    public enum Kind { BOOL, DURATION, COUNT, TEXT }

    /**
     * An experimental setting and where 3.6 moved it: a plain name, or a feature gate (then {@code
     * renamed} is null). {@code carried}: whether etcd-rescue carries it over and accepts it in
     * {@code etcd_settings}; the others are listed so the table matches etcd's.
     */
    public record Row(String experimental, String renamed, String gate, Kind kind, boolean carried) {}

    public static final String FEATURE_GATES = "ETCD_FEATURE_GATES";
    private static final int[] V3_5 = {3, 5};
    private static final int[] V3_6 = {3, 6};
    private static final int[] V3_7 = {3, 7};

    /**
     * etcd v3.6.14: {@code server/embed/config.go} {@code experimentalFlagMigrationMap} (lines 150-167),
     * {@code server/etcdmain/config.go} lines 387-401 (warning-unary-request-duration, which 3.5 lacks),
     * {@code server/features/etcd_features.go} {@code ExperimentalFlagToFeatureMap} (lines 92-98).
     * v3.7.1 defines none of the experimental names.
     */
    public static final List<Row> ROWS = List.of(
            renamed("COMPACT_HASH_CHECK_TIME", Kind.DURATION, true),
            renamed("CORRUPT_CHECK_TIME", Kind.DURATION, true),
            renamed("COMPACTION_BATCH_LIMIT", Kind.COUNT, true),
            renamed("COMPACTION_SLEEP_INTERVAL", Kind.DURATION, true),
            renamed("WATCH_PROGRESS_NOTIFY_INTERVAL", Kind.DURATION, true),
            renamed("WARNING_APPLY_DURATION", Kind.DURATION, true),
            renamed("WARNING_UNARY_REQUEST_DURATION", Kind.DURATION, true),
            renamed("BOOTSTRAP_DEFRAG_THRESHOLD_MEGABYTES", Kind.COUNT, true),
            renamed("MEMORY_MLOCK", Kind.BOOL, true),
            renamed("SNAPSHOT_CATCHUP_ENTRIES", Kind.COUNT, true),
            renamed("DOWNGRADE_CHECK_TIME", Kind.DURATION, true),
            // Not carried: a security switch, and tracing that needs a collector the new member may not reach.
            renamed("PEER_SKIP_CLIENT_SAN_VERIFICATION", Kind.BOOL, false),
            renamed("ENABLE_DISTRIBUTED_TRACING", Kind.BOOL, false),
            renamed("DISTRIBUTED_TRACING_ADDRESS", Kind.TEXT, false),
            renamed("DISTRIBUTED_TRACING_SERVICE_NAME", Kind.TEXT, false),
            renamed("DISTRIBUTED_TRACING_INSTANCE_ID", Kind.TEXT, false),
            renamed("DISTRIBUTED_TRACING_SAMPLING_RATE", Kind.COUNT, false),
            gated("INITIAL_CORRUPT_CHECK", "InitialCorruptCheck"),
            gated("COMPACT_HASH_CHECK_ENABLED", "CompactHashCheck"),
            gated("ENABLE_LEASE_CHECKPOINT", "LeaseCheckpoint"),
            gated("ENABLE_LEASE_CHECKPOINT_PERSIST", "LeaseCheckpointPersist"),
            gated("STOP_GRPC_SERVICE_ON_DEFRAG", "StopGRPCServiceOnDefrag"),
            gated("TXN_MODE_WRITE_WITH_SHARED_BUFFER", "TxnModeWriteWithSharedBuffer"));

    /**
     * The server feature gates each version knows ({@code DefaultEtcdServerFeatureGates} of v3.6.14 and
     * v3.7.1; AllAlpha and AllBeta come with {@code pkg/featuregate}). Any other name is fatal:
     * "unrecognized feature gate".
     */
    private static final Map<String, int[]> GATES_SINCE = Map.ofEntries(Map.entry("AllAlpha", V3_6),
            Map.entry("AllBeta", V3_6), Map.entry("StopGRPCServiceOnDefrag", V3_6), Map.entry("TxnModeWriteWithSharedBuffer", V3_6),
            Map.entry("InitialCorruptCheck", V3_6), Map.entry("CompactHashCheck", V3_6), Map.entry("LeaseCheckpoint", V3_6),
            Map.entry("LeaseCheckpointPersist", V3_6), Map.entry("SetMemberLocalAddr", V3_6),
            Map.entry("FastLeaseKeepAlive", V3_7), Map.entry("PriorityRequest", V3_7));

    private static Row renamed(String suffix, Kind kind, boolean carried) {
        return new Row("ETCD_EXPERIMENTAL_" + suffix, "ETCD_" + suffix, null, kind, carried);
    }

    private static Row gated(String suffix, String gate) {
        return new Row("ETCD_EXPERIMENTAL_" + suffix, null, gate, Kind.BOOL, true);
    }

    /** What etcd {@code version} ("3.6.5", "v3.5.16"; unparsable: every setting kept) makes of {@code name=value}. */
    public static Verdict decide(String version, String name, String value) {
        Optional<int[]> v = minor(version);
        if (v.isEmpty()) {
            return new Keep("");
        }
        String etcd = "etcd " + version.strip();
        if (name.equals("ETCD_LOGGER") && value.equals("capnslog") && atLeast(v.get(), V3_5)) {
            return new Refuse(etcd + " exits at start with it ('--logger=capnslog is removed in v3.5',"
                    + " server/embed/config_logging.go): set logger: zap in etcd_settings, zap is the default");
        }
        if (name.equals("ETCD_MAX_SNAPSHOTS") && atLeast(v.get(), V3_6)) {
            return new Keep("deprecated since etcd 3.6, to be removed in 3.8: it then no longer applies");
        }
        if (name.equals(FEATURE_GATES) && !atLeast(v.get(), V3_6)) {
            return new Refuse(etcd + " has no feature gates (new in 3.6) and would ignore them: set the"
                    + " experimental_* settings instead");
        }
        for (Row row : ROWS) {
            if (row.experimental().equals(name) && atLeast(v.get(), V3_6)) {
                String why = atLeast(v.get(), V3_7) ? etcd + " no longer reads the experimental name and would drop the setting"
                        : "deprecated in etcd 3.6, gone in 3.7";
                return row.gate() != null ? new Rename(FEATURE_GATES, row.gate() + "=" + value, why)
                        : new Rename(row.renamed(), value, why);
            }
            if (name.equals(row.renamed()) && !atLeast(v.get(), V3_6)) {
                return new Rename(row.experimental(), value, etcd + " reads only the experimental name (renamed in 3.6)");
            }
        }
        return new Keep("");
    }

    /** The settings a host gets, one report line per change, and the settings refused. */
    public record Result(Map<String, String> settings, List<String> lines, List<String> errors) {}

    /**
     * Applies {@link #decide} to every setting, in order: where two settings come to the same name (an
     * experimental one renamed onto one already set, or the same feature gate twice), the first wins and
     * the later is dropped, so the inventory's settings, which come first, win over carried ones.
     */
    public static Result apply(String version, Map<String, String> settings) {
        Map<String, String> out = new LinkedHashMap<>();
        Map<String, String> gates = new LinkedHashMap<>();
        List<String> lines = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        for (Map.Entry<String, String> e : settings.entrySet()) {
            String name = e.getKey();
            String value = e.getValue();
            Verdict verdict = decide(version, name, value);
            if (verdict instanceof Refuse r) {
                errors.add(name + "=" + value + ": " + r.why());
                continue;
            }
            if (verdict instanceof Rename r) {
                lines.add("renamed for etcd " + version.strip() + ": " + name + "=" + value + " -> " + r.name() + "=" + r.value()
                        + " (" + r.why() + ")");
                name = r.name();
                value = r.value();
            } else if (verdict instanceof Keep k && !k.note().isEmpty()) {
                lines.add("kept: " + name + "=" + value + " (" + k.note() + ")");
            }
            if (name.equals(FEATURE_GATES)) {
                out.putIfAbsent(FEATURE_GATES, "");
                addGates(version, value, gates, lines, errors);
            } else if (out.containsKey(name)) {
                lines.add("dropped: " + e.getKey() + "=" + e.getValue() + " (" + name + "=" + out.get(name)
                        + " is set already and wins; etcd 3.6 refuses a flag under both names)");
            } else {
                out.put(name, value);
            }
        }
        if (gates.isEmpty()) {
            out.remove(FEATURE_GATES);
        } else {
            out.put(FEATURE_GATES, String.join(",", gates.entrySet().stream().map(g -> g.getKey() + "=" + g.getValue()).toList()));
        }
        return new Result(out, lines, errors);
    }

    private static void addGates(String version, String value, Map<String, String> gates, List<String> lines,
                                 List<String> errors) {
        Optional<int[]> v = minor(version);
        for (String gate : value.split(",")) {
            String[] kv = gate.strip().split("=", 2);
            int[] since = GATES_SINCE.get(kv[0]);
            if (v.isPresent() && (since == null || !atLeast(v.get(), since))) {
                errors.add(FEATURE_GATES + " " + gate.strip() + ": etcd " + version.strip() + " does not know the feature gate "
                        + kv[0] + " and would refuse to start ('unrecognized feature gate')");
            } else if (gates.containsKey(kv[0])) {
                lines.add("dropped: feature gate " + gate.strip() + " (" + kv[0] + "=" + gates.get(kv[0])
                        + " is set already and wins)");
            } else {
                gates.put(kv[0], kv.length > 1 ? kv[1] : "true");
            }
        }
    }

    /** {major, minor} of "3.6.5", "v3.5.0-rc.1"; empty when it is no version ("unknown", ""). */
    static Optional<int[]> minor(String version) {
        String[] parts = version == null ? new String[0] : version.strip().replaceFirst("^v", "").split("[.-]");
        try {
            return parts.length < 2 ? Optional.empty()
                    : Optional.of(new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])});
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static boolean atLeast(int[] v, int[] floor) {
        return v[0] != floor[0] ? v[0] > floor[0] : v[1] >= floor[1];
    }
}
