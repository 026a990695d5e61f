package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.proto.v1.EnvSetting;
import dev.etcdrescue.proto.v1.Member;
import dev.etcdrescue.proto.v1.MemberSpec;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The plan of one member, in the contract's terms (also what replace-member sends for the member it adds). */
public final class MemberSpecs {
    private MemberSpecs() {}

    public static MemberSpec of(ClusterPlan cluster, MemberPlan m) {
        MemberSpec.Builder b = MemberSpec.newBuilder()
                .setName(m.etcdName())
                .addAllPeerUrls(strings(m.peerUrls()))
                .addAllClientUrls(strings(m.clientUrls()))
                .addAllListenPeerUrls(strings(m.listenPeerUrls()))
                .addAllListenClientUrls(strings(m.listenClientUrls()))
                .setDataDir(m.dataDir())
                .setInitialClusterToken(cluster.token());
        if (m.walDir() != null) {
            b.setWalDir(m.walDir());
        }
        for (MemberPlan other : cluster.members()) {
            b.addInitialCluster(Member.newBuilder().setName(other.etcdName()).addAllPeerUrls(strings(other.peerUrls())));
        }
        return b.build();
    }

    /** etcd's default backend quota: a member whose db is larger raises the NOSPACE alarm and refuses writes. */
    static final long DEFAULT_QUOTA_BYTES = 2L << 30;
    private static final long GIB = 1L << 30;

    /**
     * The ConfigureRequest extras of a member: timers, its TLS files (with client- and peer-certificate
     * auth on), then the settings carried over from the old member ({@code etcd_settings}).
     */
    public static List<EnvSetting> extras(MemberPlan m) {
        Map<String, String> env = new LinkedHashMap<>();
        if (m.heartbeatIntervalMs() != null) {
            env.put("ETCD_HEARTBEAT_INTERVAL", m.heartbeatIntervalMs().toString());
        }
        if (m.electionTimeoutMs() != null) {
            env.put("ETCD_ELECTION_TIMEOUT", m.electionTimeoutMs().toString());
        }
        if (m.tls() != null) {
            env.putAll(m.tls().env());
        }
        env.putAll(m.etcdSettings());
        return settings(env);
    }

    /**
     * {@link #extras(MemberPlan)} with a backend quota that fits the snapshot: a restored db larger than
     * the quota (etcd's 2 GiB default, or the carried-over one) would start with the NOSPACE alarm
     * raised, so the quota becomes twice the snapshot, rounded up to whole GiB, unless the configured one
     * is larger. {@code snapshotSize} 0 or less: unknown, nothing changes.
     */
    static List<EnvSetting> extras(MemberPlan m, long snapshotSize) {
        List<EnvSetting> extra = new ArrayList<>(extras(m));
        Optional<Long> raised = raisedQuota(m, snapshotSize);
        if (raised.isPresent()) {
            extra.removeIf(e -> e.getKey().equals(QUOTA));
            extra.add(setting(QUOTA, raised.get().toString()));
        }
        return extra;
    }

    /** Why the quota was raised, for the phase's report line; empty when it was not. */
    static Optional<String> quotaNote(MemberPlan m, long snapshotSize) {
        return raisedQuota(m, snapshotSize).map(q -> "backend quota raised to " + q + " bytes (" + (q / GIB) + " GiB): the snapshot has "
                + snapshotSize + " bytes, more than the " + (configuredQuota(m) == null ? "default 2 GiB" : "configured " + configuredQuota(m))
                + " quota, and etcd would start with the NOSPACE alarm raised");
    }

    private static final String QUOTA = "ETCD_QUOTA_BACKEND_BYTES";

    private static Optional<Long> raisedQuota(MemberPlan m, long snapshotSize) {
        Long configured = configuredQuota(m);
        long limit = configured == null || configured == 0 ? DEFAULT_QUOTA_BYTES : configured;
        if (snapshotSize <= limit) {
            return Optional.empty();
        }
        long needed = (2 * snapshotSize + GIB - 1) / GIB * GIB;
        return Optional.of(configured == null ? needed : Math.max(configured, needed));
    }

    private static Long configuredQuota(MemberPlan m) {
        String value = m.etcdSettings().get(QUOTA);
        return value == null ? null : Long.parseLong(value);
    }

    private static List<EnvSetting> settings(Map<String, String> env) {
        List<EnvSetting> extra = new ArrayList<>();
        env.forEach((key, value) -> extra.add(setting(key, value)));
        return extra;
    }

    private static EnvSetting setting(String key, String value) {
        return EnvSetting.newBuilder().setKey(key).setValue(value).build();
    }

    static List<String> strings(List<URI> uris) {
        return uris.stream().map(URI::toString).toList();
    }
}
