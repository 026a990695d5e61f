package dev.etcdrescue.coordinator.backup;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.files.PrivateFiles;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.snapshot.ReceivedSnapshot;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.proto.v1.BackupEntry;
import io.grpc.Context;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * {@code recover --from-backup latest|ID}: the cluster's backups as its agents list them, every copy on every agent that
 * answers (the taker's own and those its peers hold), newest first ({@link BackupCandidates}), and the first that
 * arrives whole: its holder reads it back against the signed manifest and streams the snapshot, which must hash to the
 * manifest's digest here. Every copy passed over is named with the reason.
 */
public final class BackupFetch {
    /** The name a fetched backup has in the run's work dir: {@code resume} finds it there. */
    public static final String PREFIX = "backup-";
    private final AgentChannels channels;
    private final Duration timeout;

    public BackupFetch(AgentChannels channels, Duration timeout) {
        this.channels = channels;
        this.timeout = timeout;
    }

    public record Fetched(Path file, BackupEntry backup, String holder, List<String> passedOver) {}

    /**
     * @param which {@code latest}, or a backup id
     * @param notes told each backup passed over, and why, as it happens
     */
    public Fetched fetch(ClusterPlan plan, String which, Path workDir, Consumer<String> notes) throws InterruptedException {
        List<FleetBackups.HostBackups> hosts = new FleetBackups(dir -> channels, timeout).ask(List.of(plan), false);
        BackupCandidates.Choice choice = BackupCandidates.order(hosts, which);
        List<String> passedOver = new ArrayList<>();
        choice.passedOver().forEach(why -> note(passedOver, notes, why));
        for (BackupCandidates.Candidate c : choice.inOrder()) {
            MemberPlan holder = plan.members().stream().filter(m -> m.hostName().equals(c.holder())).findFirst().orElseThrow();
            try {
                Path file = download(holder, c.backup(), workDir);
                return new Fetched(file, c.backup(), c.holder(), passedOver);
            } catch (RuntimeException | IOException e) {
                note(passedOver, notes, c.describe() + ": "
                        + (e instanceof UserException ? e.getMessage() : AgentError.describe(e, holder.agentEndpoint().toString())));
            }
        }
        throw new UserException(FailureKind.REFUSED, (which.equals("latest") ? "no backup of cluster " + plan.name()
                : "backup " + which + " of cluster " + plan.name()) + " arrived whole from any of its hosts"
                + (passedOver.isEmpty() ? " (none listed: is backup: set in their agent.yaml? see 'etcd-rescue backup list')"
                : ":\n  " + String.join("\n  ", passedOver)) + "\nNothing was changed on any host");
    }

    private Path download(MemberPlan holder, BackupEntry backup, Path workDir) throws IOException {
        PrivateFiles.createDirectories(workDir);
        Path target = workDir.resolve(PREFIX + backup.getId() + ".db");
        if (Files.exists(target)) {
            SnapshotFile existing = SnapshotFile.inspect(target);
            if (existing.sha256().equals(backup.getSnapshotSha256())) {
                return target;
            }
            throw new UserException(FailureKind.BAD_INPUT, target + " exists and is not backup " + backup.getId());
        }
        Path part = workDir.resolve(PREFIX + backup.getId() + ".db.part");
        Files.deleteIfExists(part);
        try (AgentClient agent = channels.connect(holder.agentEndpoint());
             Context.CancellableContext call = Context.current().withCancellation()) {
            Context previous = call.attach();
            try {
                SnapshotFile got = ReceivedSnapshot.receive(holder.hostName(), agent.fetchBackup(backup.getId(), timeout), part, b -> { });
                if (!got.sha256().equals(backup.getSnapshotSha256())) {
                    Files.deleteIfExists(part);
                    throw new UserException(FailureKind.PHASE_FAILED, "arrived with SHA-256 " + got.sha256() + ", its manifest says "
                            + backup.getSnapshotSha256());
                }
            } finally {
                call.detach(previous);
            }
        }
        ReceivedSnapshot.publish(part, target);
        return target;
    }

    private static void note(List<String> passedOver, Consumer<String> notes, String why) {
        passedOver.add(why);
        notes.accept("passed over " + why);
    }
}
