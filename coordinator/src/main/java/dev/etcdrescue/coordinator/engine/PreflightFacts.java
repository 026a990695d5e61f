package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.snapshot.SourceMember;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What preflight decided, journalled so that a resumed run restores, fences and frees ports as the first
 * attempt planned. Fields a journal written by an older etcd-rescue lacks read as null.
 *
 * @param fencePort null in journals from before the fence was decided in preflight: the option's then
 * @param sourceEndpoint the old member the snapshot is taken from; null when it comes from a file
 */
record PreflightFacts(long bump, Integer fencePort, Map<String, Map<String, String>> carried,
                      Map<String, Map<String, String>> settings, Map<String, String> etcdVersions,
                      Map<String, List<String>> freedPorts, String sourceEndpoint, String sourceVersion,
                      Long sourceRevision, Long sourceRaftIndex, Long sourceDbSize) {

    static PreflightFacts of(RecoveryRun run) {
        SourceMember s = run.source;
        return new PreflightFacts(run.bump, run.fencePort, new LinkedHashMap<>(run.carried), new LinkedHashMap<>(run.settings),
                new LinkedHashMap<>(run.etcdVersions), new LinkedHashMap<>(run.freedPorts),
                s == null ? null : s.endpoint().toString(), s == null ? null : s.version(), s == null ? null : s.revision(),
                s == null ? null : s.raftIndex(), s == null ? null : s.dbSize());
    }

    void applyTo(RecoveryRun run) {
        run.bump = bump;
        run.fencePort = fencePort == null ? run.options.fencePort() : fencePort;
        run.applyCarried(orEmpty(carried));
        // Journals from before the version rules have no settings: the merged ones stand.
        run.applySettings(orEmpty(settings));
        run.etcdVersions.putAll(orEmpty(etcdVersions));
        run.freedPorts.putAll(orEmpty(freedPorts));
        if (sourceEndpoint != null) {
            run.source = new SourceMember(URI.create(sourceEndpoint), sourceVersion, sourceRevision, sourceRaftIndex, sourceDbSize, 0);
        }
    }

    private static <K, V> Map<K, V> orEmpty(Map<K, V> m) {
        return m == null ? Map.of() : m;
    }
}
