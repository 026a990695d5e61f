package dev.etcdrescue.coordinator.backup;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.files.PrivateFiles;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.inventory.SnapshotSource;
import dev.etcdrescue.coordinator.snapshot.ReceivedSnapshot;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
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
 * answers (the taker's own and those its peers hold), newest first ({@link BackupCandidates}); the run's snapshot phase
 * has a holder stage its copy and send it on. When that cannot be, {@link #download} is the coordinator's path: the holder
 * reads the copy back against the signed manifest and streams the snapshot, which must hash to the manifest's digest here.
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

    /**
     * The copies to try, in order, as the agents list them (nothing is read back yet); each copy passed over on the way is
     * added to {@code passedOver} and told to {@code notes}.
     */
    public List<BackupCandidates.Candidate> choose(ClusterPlan plan, String which, List<String> passedOver, Consumer<String> notes)
            throws InterruptedException {
        List<FleetBackups.HostBackups> hosts = new FleetBackups(dir -> channels, timeout).ask(List.of(plan), false);
        BackupCandidates.Choice choice = BackupCandidates.order(hosts, which);
        choice.passedOver().forEach(why -> note(passedOver, notes, why));
        return choice.inOrder();
    }

    /** Refused when no copy of the backup arrived whole (or staged) on any host, naming each one passed over. */
    public static UserException noneArrived(String cluster, String which, List<String> passedOver) {
        return new UserException(FailureKind.REFUSED, (which.equals("latest") ? "no backup of cluster " + cluster
                : "backup " + which + " of cluster " + cluster) + " arrived whole from any of its hosts"
                + (passedOver.isEmpty() ? " (none listed: is backup: set in their agent.yaml? see 'etcd-rescue backup list')"
                : ":\n  " + String.join("\n  ", passedOver)) + "\nNothing was changed on any host");
    }

    /**
     * The snapshot inside one copy, streamed by its holder through the coordinator into {@code workDir}: the path when a
     * holder's agent cannot stage it for sending on itself.
     *
     * @param sha256 the manifest's digest of the snapshot: the file must hash to it here
     */
    public Path download(MemberPlan holder, String id, String sha256, Path workDir) throws IOException {
        PrivateFiles.createDirectories(workDir);
        Path target = workDir.resolve(PREFIX + id + ".db");
        if (Files.exists(target)) {
            SnapshotFile existing = SnapshotFile.inspect(target);
            if (existing.sha256().equals(sha256)) {
                return target;
            }
            throw new UserException(FailureKind.BAD_INPUT, target + " exists and is not backup " + id);
        }
        Path part = workDir.resolve(PREFIX + id + ".db.part");
        Files.deleteIfExists(part);
        try (AgentClient agent = channels.connect(holder.agentEndpoint());
             Context.CancellableContext call = Context.current().withCancellation()) {
            Context previous = call.attach();
            try {
                SnapshotFile got = ReceivedSnapshot.receive(holder.hostName(), agent.fetchBackup(id, timeout), part, b -> { });
                if (!got.sha256().equals(sha256)) {
                    Files.deleteIfExists(part);
                    throw new UserException(FailureKind.PHASE_FAILED, "arrived with SHA-256 " + got.sha256() + ", its manifest says "
                            + sha256);
                }
            } finally {
                call.detach(previous);
            }
        }
        ReceivedSnapshot.publish(part, target);
        return target;
    }

    /** The file in a run's work dir that names the backup and its copies to try: {@code resume} starts from it. */
    public static final String CHOICE = "from-backup.tsv";

    /** The copies to try as the run's snapshot source, written into the run's work dir for a resume. */
    public static SnapshotSource.Backup source(String which, List<BackupCandidates.Candidate> inOrder, Path workDir) throws IOException {
        List<SnapshotSource.Copy> copies = inOrder.stream().map(c -> new SnapshotSource.Copy(c.backup().getId(), c.holder(),
                c.backup().getSnapshotSha256(), c.backup().getSnapshotSize(), c.backup().getRevision(), c.backup().getTakenAt(),
                c.backup().getTakenBy(), c.backup().getCopyFrom(), c.backup().getEtcdVersion(), c.backup().getLocation())).toList();
        StringBuilder text = new StringBuilder(which).append('\n');
        for (SnapshotSource.Copy c : copies) {
            text.append(String.join("\t", c.id(), c.holder(), c.snapshotSha256(), Long.toString(c.snapshotSize()), Long.toString(c.revision()),
                    c.takenAt(), c.takenBy(), c.copyFrom(), c.etcdVersion(), c.location())).append('\n');
        }
        PrivateFiles.createDirectories(workDir);
        PrivateFiles.writeAtomically(workDir.resolve(CHOICE), text.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return new SnapshotSource.Backup(which, copies, workDir);
    }

    /** What {@link #source} wrote into a run's work dir, when it did. */
    public static java.util.Optional<SnapshotSource.Backup> chosen(Path workDir) throws IOException {
        Path file = workDir.resolve(CHOICE);
        if (!Files.isRegularFile(file)) {
            return java.util.Optional.empty();
        }
        List<String> lines = Files.readAllLines(file);
        List<SnapshotSource.Copy> copies = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split("\t", -1);
            if (f.length != 9 && f.length != 10) {
                throw new UserException(FailureKind.BAD_INPUT, file + " is damaged (a line with " + f.length + " fields, not 10)");
            }
            copies.add(new SnapshotSource.Copy(f[0], f[1], f[2], Long.parseLong(f[3]), Long.parseLong(f[4]), f[5], f[6], f[7], f[8],
                    f.length == 10 ? f[9] : ""));
        }
        return java.util.Optional.of(new SnapshotSource.Backup(lines.get(0), copies, workDir));
    }

    private static void note(List<String> passedOver, Consumer<String> notes, String why) {
        passedOver.add(why);
        notes.accept("passed over " + why);
    }
}
