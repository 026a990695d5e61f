package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.agent.SnapshotDistribution;
import dev.etcdrescue.coordinator.agent.SourceTransfer;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.report.Outcome;
import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.coordinator.report.SnapshotSummary;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.proto.v1.LocalEtcdAccess;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * The snapshot phase when the source member's host has an agent: that agent takes the snapshot of its own
 * member and keeps it staged (TakeSnapshot); the coordinator receives its size, digest and etcd's snapshot
 * status, and checks them as it checks a snapshot it took itself (trailer, revision, the writer's version).
 */
final class SourceSnapshotStep {
    private static final Duration TAKE_TIMEOUT = Duration.ofMinutes(30);

    private SourceSnapshotStep() {}

    /**
     * @return empty when the snapshot is taken and checked (the run's snapshot facts are set); else why the agent
     *     could not take it, for the caller to fall back or refuse
     * @throws PhaseFailedException when the agent took a snapshot that fails the coordinator's checks
     */
    static Optional<String> take(RecoveryRun run, String host, long t0) {
        MemberPlan member = run.plan.members().stream().filter(m -> m.hostName().equals(host)).findFirst().orElseThrow();
        LocalEtcdAccess access;
        try {
            access = access(run, member, run.source.endpoint());
        } catch (IllegalStateException e) {
            return Optional.of(e.getMessage());
        }
        SnapshotDistribution.Target target = new SnapshotDistribution.Target(host, run.agents.get(host), run.header(member));
        TransferResult taken;
        try {
            taken = SourceTransfer.take(target, access, run.source.dbSize(), TAKE_TIMEOUT,
                    (h, bytes, total) -> run.reporter.transferProgress(h, bytes, total),
                    (h, note) -> run.reporter.note(PhaseName.SNAPSHOT, "[" + h + "] " + note));
        } catch (RuntimeException e) {
            return Optional.of(AgentError.describe(e, member.agentEndpoint().toString()));
        }
        check(run, host, taken);
        run.snapshotHolder = host;
        run.transferId = taken.getTransferId();
        run.expectedRevision = taken.getSnapshotStatus().getRevision();
        run.snapshot = new SnapshotFile(Path.of(taken.getStagedPath()), taken.getSize(), taken.getSha256(), SnapshotDigest.Trailer.VALID);
        String origin = "member " + run.source.endpoint() + " at revision " + run.source.revision() + ", taken by the agent on " + host;
        var status = taken.getSnapshotStatus();
        // etcd wrote the file with the source member's own version, which preflight read and checked every host against;
        // the tool's status names a storage version only from etcd 3.6 on.
        String writer = storageMinor(status.getVersion()).or(() -> storageMinor(run.source.version())).orElse("unknown");
        run.snapshotSummary = new SnapshotSummary(origin, host + ":" + taken.getStagedPath(), taken.getSize(), taken.getSha256(), "valid",
                status.getRevision(), status.getTotalKeys(), status.getHash(), 0, writer, null, null, null, null, null);
        double secs = Math.max(1e-3, PreflightPhase.since(t0).toMillis() / 1000.0);
        run.recordCluster(PhaseName.SNAPSHOT, Outcome.OK, String.format(Locale.ROOT,
                "%s: %d bytes in %.1fs (%.0f MiB/s), revision %d, %d keys, sha256 %s, hash trailer valid; staged on %s, "
                        + "the coordinator received none of it", origin, taken.getSize(), secs, taken.getSize() / secs / (1 << 20),
                status.getRevision(), status.getTotalKeys(), taken.getSha256(), host), PreflightPhase.since(t0));
        return Optional.empty();
    }

    /** What the coordinator checks of a snapshot it took itself, from what the agent read of its own. */
    private static void check(RecoveryRun run, String host, TransferResult taken) {
        if (!taken.getHasHashTrailer() || !taken.hasSnapshotStatus()) {
            throw new PhaseFailedException(PhaseName.SNAPSHOT, FailureKind.PHASE_FAILED, "the agent on " + host
                    + " staged a snapshot " + (taken.getHasHashTrailer() ? "without etcd's snapshot status" : "without a valid SHA-256 trailer")
                    + ": nothing was changed on any host; run recover again, or pass --distribution streamed");
        }
        long revision = taken.getSnapshotStatus().getRevision();
        if (revision < run.source.revision()) {
            throw new PhaseFailedException(PhaseName.SNAPSHOT, FailureKind.PHASE_FAILED, "the snapshot the agent on " + host
                    + " took holds revision " + revision + " but " + run.source.endpoint() + " reported " + run.source.revision()
                    + " before it was taken: the file is not that member's data");
        }
        Optional<String> writer = storageMinor(taken.getSnapshotStatus().getVersion());
        if (writer.isPresent()) {
            SnapshotVersionGate.Verdict v = SnapshotVersionGate.check(new java.util.TreeMap<>(run.etcdVersions), writer,
                    "the snapshot's storage version " + taken.getSnapshotStatus().getVersion());
            v.warnings().forEach(w -> run.reporter.note(PhaseName.SNAPSHOT, "WARNING: " + w));
            if (!v.refused().isEmpty()) {
                throw new PhaseFailedException(PhaseName.SNAPSHOT, FailureKind.REFUSED, String.join("; ", v.refused())
                        + ". Nothing was changed on any host");
            }
        }
    }

    /** "3.5.0" → "3.5"; empty when the tool reports no version (before 3.6): preflight's check of the source's etcd stands. */
    static Optional<String> storageMinor(String version) {
        var m = java.util.regex.Pattern.compile("^v?(\\d+\\.\\d+)").matcher(version);
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /**
     * How the agent reaches its member: the URL the coordinator probed (an address of that host), and for https the
     * inventory's etcd_*_file paths on that host, with etcd's user when auth is on.
     *
     * @throws IllegalStateException naming what the inventory lacks
     */
    static LocalEtcdAccess access(RecoveryRun run, MemberPlan member, URI endpoint) {
        LocalEtcdAccess.Builder access = LocalEtcdAccess.newBuilder().setEndpoint(endpoint.toString());
        if ("https".equalsIgnoreCase(endpoint.getScheme())) {
            if (member.tls() == null || member.tls().caFile() == null) {
                throw new IllegalStateException(endpoint + " is https and the inventory gives no etcd_ca_file for " + member.hostName()
                        + " (a path on that host)");
            }
            access.setCaFile(member.tls().caFile());
            if (member.tls().certFile() != null && member.tls().keyFile() != null) {
                access.setCertFile(member.tls().certFile()).setKeyFile(member.tls().keyFile());
            }
        }
        run.plan.etcdAccess().userName().ifPresent(user -> access.setUsername(user).setPassword(run.plan.etcdAccess().password(System.getenv())));
        return access.build();
    }
}
