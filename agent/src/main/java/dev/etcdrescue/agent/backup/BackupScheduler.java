package dev.etcdrescue.agent.backup;

import dev.etcdrescue.agent.config.AgentConfig;
import dev.etcdrescue.agent.config.BackupConfig;
import dev.etcdrescue.agent.io.ProcessRunner;
import dev.etcdrescue.agent.restore.RestoreTools;
import dev.etcdrescue.pki.SigningIdentity;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes a few times per interval; at each new slot, asks the cluster whose turn it is ({@link SlotTurn}) and,
 * when it is this member's and no backup of the slot is here yet, takes one. Never while the agent is claimed
 * by a recovery. One failed slot is logged and left: the next slot tries again.
 */
public final class BackupScheduler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BackupScheduler.class);
    private final BackupConfig config;
    private final LocalEtcdctl etcdctl;
    private final BackupStore store;
    private final BackupTaker taker;
    private final PeerCopies copies;
    private final RestoreDrill drills;
    private final Path staging;
    private final BooleanSupplier claimed;
    private final Clock clock;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "backup-scheduler");
        t.setDaemon(true);
        return t;
    });
    private long lastSlot = Long.MIN_VALUE;
    private volatile String lastResult = "no slot handled yet";
    /** For metrics: the outcome of the backups this agent took since it started. */
    private final java.util.concurrent.atomic.AtomicLong failures = new java.util.concurrent.atomic.AtomicLong();
    private volatile BackupManifest lastTaken;
    private volatile double lastSeconds;
    private final Optional<ObjectCopies> objects;
    private final java.util.concurrent.atomic.AtomicLong objectUploads = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong objectFailures = new java.util.concurrent.atomic.AtomicLong();
    private volatile ObjectCopies.Uploaded lastUpload;
    private volatile java.time.Instant lastUploadAt;

    BackupScheduler(BackupConfig config, LocalEtcdctl etcdctl, BackupStore store, BackupTaker taker, PeerCopies copies,
                    RestoreDrill drills, BooleanSupplier claimed, Clock clock, Path staging) {
        this(config, etcdctl, store, taker, copies, drills, claimed, clock, staging, Optional.empty());
    }

    BackupScheduler(BackupConfig config, LocalEtcdctl etcdctl, BackupStore store, BackupTaker taker, PeerCopies copies,
                    RestoreDrill drills, BooleanSupplier claimed, Clock clock, Path staging, Optional<ObjectCopies> objects) {
        this.objects = objects;
        this.copies = copies;
        this.drills = drills;
        this.staging = staging;
        this.config = config;
        this.etcdctl = etcdctl;
        this.store = store;
        this.taker = taker;
        this.claimed = claimed;
        this.clock = clock;
    }

    /** The scheduler for {@code agent}'s backup settings, not started; empty when backups are not configured. */
    public static Optional<BackupScheduler> of(AgentConfig agent, ProcessRunner runner, BooleanSupplier claimed) throws IOException {
        return of(agent, runner, claimed, dev.etcdrescue.agent.failpoint.Failpoints.none());
    }

    /** As above, with the agent's failpoints (the upload to object storage holds one). */
    public static Optional<BackupScheduler> of(AgentConfig agent, ProcessRunner runner, BooleanSupplier claimed,
                                               dev.etcdrescue.agent.failpoint.Failpoints failpoints) throws IOException {
        if (agent.backup().isEmpty()) {
            return Optional.empty();
        }
        BackupConfig config = agent.backup().get();
        BackupScratch.removeLeftBehind(agent.stagingDir());
        Path etcdctlPath = new RestoreTools(agent.toolDirs(), runner, agent.commandTimeout()).find("etcdctl")
                .orElseThrow(() -> new IOException("backup: no etcdctl in tool_dirs " + agent.toolDirs()
                        + ": install etcd's client tools, or remove backup: from agent.yaml"));
        LocalEtcdctl etcdctl = new LocalEtcdctl(etcdctlPath, config.etcd(), runner);
        BackupStore store = new BackupStore(config.dir(), SigningIdentity.readCertificate(agent.tls().ca()));
        SigningIdentity signer = SigningIdentity.load(agent.tls().cert(), agent.tls().key());
        BackupTaker taker = new BackupTaker(config, agent.hostName(), etcdctl, store, signer, agent.stagingDir(), Clock.systemUTC());
        RestoreDrill drills = new RestoreDrill(new RestoreTools(agent.toolDirs(), runner, agent.commandTimeout()), runner,
                agent.stagingDir(), store, Clock.systemUTC(), agent.restoreTimeout());
        PeerCopies copies = new PeerCopies(store, signer, agent.hostName(), config.copies(), agent.listen().getPort(),
                new dev.etcdrescue.agent.transfer.RelayDialer(agent.tls()), Clock.systemUTC(), config.cluster());
        // backup.cluster is required with backup.s3 (AgentConfigLoader), so the prefix is known before etcd answers.
        Optional<ObjectCopies> objects = config.s3().isEmpty() ? Optional.empty()
                : ObjectCopies.open(config.s3(), config.cluster().orElseThrow(), failpoints);
        return Optional.of(new BackupScheduler(config, etcdctl, store, taker, copies, drills, claimed, Clock.systemUTC(),
                agent.stagingDir(), objects));
    }

    public BackupScheduler start() {
        long tick = Math.max(1000, Math.min(30_000, config.interval().toMillis() / 10));
        timer.scheduleWithFixedDelay(this::tickLogged, tick, tick, TimeUnit.MILLISECONDS);
        log.info("scheduled backups every {} into {}, checked every {} ms", config.interval(), config.dir(), tick);
        return this;
    }

    public String lastResult() {
        return lastResult;
    }

    private void tickLogged() {
        try {
            tick();
        } catch (Exception e) {
            failures.incrementAndGet();
            lastResult = "failed: " + e.getMessage();
            log.warn("backup: {}", e.getMessage());
        }
    }

    /** One look at the clock: at a new slot, takes the backup when it is this member's turn; a drill when one is due. */
    synchronized void tick() throws IOException, BackupTaker.Refused {
        slot();
        if (config.drillEvery().isPresent() && !claimed.getAsBoolean()) {
            drillWhenDue(config.drillEvery().get());
        }
    }

    /** The newest trusted backup here gets a drill when none ran within {@code every}. */
    private void drillWhenDue(java.time.Duration every) throws IOException {
        Optional<BackupStore.Listed> newest = newestTrusted();
        if (newest.isEmpty()) {
            return;
        }
        java.time.Instant now = clock.instant();
        boolean recent = store.list().stream().map(l -> RestoreDrill.last(store.dir(), l.id())).flatMap(Optional::stream)
                .anyMatch(r -> java.time.Duration.between(java.time.Instant.parse(r.at()), now).compareTo(every) < 0);
        if (!recent) {
            RestoreDrill.Result r = drills.drill(newest.get().manifest());
            lastResult = "drill of " + r.id() + (r.ok() ? ": restored and served in " + String.format(java.util.Locale.ROOT, "%.1f s", r.seconds())
                    : " failed: " + r.problem());
        }
    }

    private Optional<BackupStore.Listed> newestTrusted() throws IOException {
        return store.list().stream().filter(BackupStore.Listed::trusted)
                .max(java.util.Comparator.comparing(l -> java.time.Instant.parse(l.manifest().takenAt())));
    }

    /** Drills the backup {@code id}, or the newest trusted one here when empty; refused while the agent is claimed. */
    public synchronized RestoreDrill.Result drillNow(Optional<String> id) throws IOException, BackupTaker.Refused {
        if (claimed.getAsBoolean()) {
            throw new BackupTaker.Refused("the agent is claimed by a recovery: no drill runs until it ends");
        }
        Optional<BackupStore.Listed> chosen = id.isEmpty() ? newestTrusted()
                : store.list().stream().filter(l -> l.id().equals(id.get())).findFirst();
        if (chosen.isEmpty()) {
            throw new BackupTaker.Refused(id.map(i -> "no backup " + i + " in " + store.dir()).orElse("no trusted backup in " + store.dir()));
        }
        if (!chosen.get().trusted()) {
            throw new BackupTaker.Refused("backup " + chosen.get().id() + " is not trusted: " + chosen.get().problem());
        }
        RestoreDrill.Result r = drills.drill(chosen.get().manifest());
        lastResult = "drill of " + r.id() + (r.ok() ? ": ok" : " failed: " + r.problem());
        return r;
    }

    private void slot() throws IOException, BackupTaker.Refused {
        long slot = SlotTurn.slot(clock.instant(), config.interval());
        if (slot == lastSlot) {
            return;
        }
        if (claimed.getAsBoolean()) {
            lastResult = "slot " + slot + ": skipped, the agent is claimed by a recovery";
            return;
        }
        LocalEtcdctl.ClusterView view = etcdctl.view();
        Optional<LocalEtcdctl.MemberState> owner = SlotTurn.owner(view.members(), slot);
        lastSlot = slot;
        if (owner.isEmpty() || !owner.get().id().equals(view.self())) {
            lastResult = "slot " + slot + ": " + owner.map(o -> o.name() + "'s turn").orElse("no member answers");
            return;
        }
        if (store.list().stream().anyMatch(l -> l.trusted() && l.manifest().slot() == slot)) {
            lastResult = "slot " + slot + ": already backed up here";
            return;
        }
        BackupManifest taken = taken(slot, view);
        List<String> copied = new java.util.ArrayList<>(copies.push(taken, view));
        upload(taken).ifPresent(copied::add);
        List<String> removed = taker.prune(false, false).remove();
        lastResult = "slot " + slot + ": took " + taken.id() + copiesNote(copied) + (removed.isEmpty() ? "" : "; retention removed " + removed);
    }

    private String copiesNote(List<String> copied) {
        return copied.isEmpty() ? "" : "; copies: " + String.join(", ", copied);
    }

    /**
     * The copy in object storage of a backup just taken, when backup.s3 is set: one line for the outcome. A failure is
     * logged and counted, never thrown: the local backup and its peer copies stand without it.
     */
    Optional<String> upload(BackupManifest taken) {
        if (objects.isEmpty()) {
            return Optional.empty();
        }
        ObjectCopies o = objects.get();
        try {
            ObjectCopies.Uploaded u = o.upload(taken, store.dir().resolve(taken.file()), store.manifestBytes(taken.id()));
            objectUploads.incrementAndGet();
            lastUpload = u;
            lastUploadAt = clock.instant();
            log.info("backup {}: copy in {} ({} bytes in {} part(s), {} s, {} MB/s), read back whole, manifest last", taken.id(),
                    o.location(), u.bytes(), u.parts(), String.format(java.util.Locale.ROOT, "%.2f", u.seconds()),
                    String.format(java.util.Locale.ROOT, "%.1f", u.bytes() / 1e6 / Math.max(1e-3, u.seconds())));
            return Optional.of(o.location() + ": ok");
        } catch (IOException | RuntimeException e) {
            objectFailures.incrementAndGet();
            log.warn("backup {}: no copy in {}: {} (the local backup is kept; no manifest was left there)", taken.id(), o.location(),
                    e.getMessage());
            return Optional.of(o.location() + ": " + e.getMessage());
        }
    }

    /** The copies in object storage as this agent sees them, when backup.s3 is set. */
    public Optional<ObjectCatalogue> objects() {
        return objects.map(o -> new ObjectCatalogue(o, store, staging, config.cluster().orElseThrow()));
    }

    /** A backup taken on demand and what its copies to peers came to. */
    public record Taken(BackupManifest manifest, List<String> copies) {}

    /** A backup now, outside the schedule (slot -1): refused while the agent is claimed. */
    public synchronized Taken takeNow() throws IOException, BackupTaker.Refused {
        if (claimed.getAsBoolean()) {
            throw new BackupTaker.Refused("the agent is claimed by a recovery: no backup is taken until it ends");
        }
        BackupManifest taken;
        LocalEtcdctl.ClusterView view;
        try {
            view = etcdctl.view();
            taken = taken(-1, view);
        } catch (IOException | BackupTaker.Refused e) {
            failures.incrementAndGet();
            throw e;
        }
        List<String> copied = new java.util.ArrayList<>(copies.push(taken, view));
        upload(taken).ifPresent(copied::add);
        List<String> removed = taker.prune(false, false).remove();
        lastResult = "on demand: took " + taken.id() + copiesNote(copied) + (removed.isEmpty() ? "" : "; retention removed " + removed);
        return new Taken(taken, copied);
    }

    /**
     * Retention now, as after each backup: what goes (with {@code dryRun}, what would) and why each other one stays;
     * the newest backups are read back first, so the floor is the newest one that holds.
     */
    public synchronized BackupTaker.Pruned prune(boolean dryRun) throws IOException {
        BackupTaker.Pruned p = taker.prune(dryRun, true);
        if (!dryRun && !p.remove().isEmpty()) {
            lastResult = "prune: retention removed " + p.remove();
        }
        return p;
    }

    public PeerCopies copies() {
        return copies;
    }

    private BackupManifest taken(long slot, LocalEtcdctl.ClusterView view) throws IOException, BackupTaker.Refused {
        long t0 = System.nanoTime();
        BackupManifest taken = taker.take(slot, view);
        lastSeconds = (System.nanoTime() - t0) / 1e9;
        lastTaken = taken;
        return taken;
    }

    /** What this agent did since it started, for {@link BackupMetrics}. */
    record Activity(BackupManifest lastTaken, double lastSeconds, long failures, long objectUploads, long objectFailures,
                    ObjectCopies.Uploaded lastUpload, java.time.Instant lastUploadAt) {}

    Activity activity() {
        return new Activity(lastTaken, lastSeconds, failures.get(), objectUploads.get(), objectFailures.get(), lastUpload, lastUploadAt);
    }

    /** A new file name in the agent's staging dir, which exists. */
    Path stagingFile(String name) throws IOException {
        java.nio.file.Files.createDirectories(staging);
        return staging.resolve(name);
    }

    public BackupStore store() {
        return store;
    }

    public BackupConfig config() {
        return config;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
