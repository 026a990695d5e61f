package dev.etcdrescue.agent.backup;

import dev.etcdrescue.agent.config.BackupConfig;
import dev.etcdrescue.pki.SigningIdentity;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import dev.etcdrescue.snapshotformat.bolt.BoltSnapshot;
import dev.etcdrescue.snapshotformat.bolt.SnapshotInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes one backup of this host's member and keeps it only once it is proven whole: etcd's SHA-256
 * trailer, the bbolt structure, and HashKV at the snapshot's revision computed from the file equal to
 * what the member itself answers for that revision. Then compressed, stored with a signed manifest, and
 * retention applied.
 */
public final class BackupTaker {
    private static final Logger log = LoggerFactory.getLogger(BackupTaker.class);
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);
    private final BackupConfig config;
    private final String hostName;
    private final LocalEtcdctl etcdctl;
    private final BackupStore store;
    private final SigningIdentity signer;
    private final Path staging;
    private final Clock clock;

    BackupTaker(BackupConfig config, String hostName, LocalEtcdctl etcdctl, BackupStore store, SigningIdentity signer, Path staging,
                Clock clock) {
        this.config = config;
        this.hostName = hostName;
        this.etcdctl = etcdctl;
        this.store = store;
        this.signer = signer;
        this.staging = staging;
        this.clock = clock;
    }

    /** A backup that failed its checks: nothing of it is kept. */
    public static final class Refused extends Exception {
        Refused(String message) {
            super(message);
        }
    }

    /**
     * The file is packed (SHA-256, etcd's trailer, zstd into the backup dir) as etcdctl writes it; once etcdctl is
     * done, the bbolt walk (structure, revision, keys, the file's HashKV) and, once the walk has the revision, the
     * member's own HashKV at it run beside what is left of the packing.
     */
    BackupManifest take(long slot, LocalEtcdctl.ClusterView view) throws IOException, Refused {
        Files.createDirectories(staging);
        Path snapshot = staging.resolve("backup-" + UUID.randomUUID() + ".db");
        Instant takenAt = clock.instant();
        CompletableFuture<BackupStore.Packed> packing = null;
        try {
            CompletableFuture<Void> saving = CompletableFuture.runAsync(() -> {
                try {
                    etcdctl.snapshot(snapshot, Duration.ofMinutes(30));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, runnable -> new Thread(runnable, "backup-save").start());
            packing = CompletableFuture.supplyAsync(() -> {
                try (GrowingSnapshot growing = new GrowingSnapshot(snapshot, saving)) {
                    return store.pack(growing);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, runnable -> new Thread(runnable, "backup-pack").start());
            join(saving);
            CompletableFuture<Long> live = new CompletableFuture<>();
            BoltSnapshot.Inspected file = BoltSnapshot.inspect(snapshot, info -> askLive(info.revision(), live));
            BackupStore.Packed packed = join(packing);
            SnapshotDigest digest = packed.snapshot();
            if (digest.trailer() != SnapshotDigest.Trailer.VALID) {
                throw new Refused("the snapshot's SHA-256 trailer is " + digest.trailer().name().toLowerCase(java.util.Locale.ROOT)
                        + ": etcd did not send a whole snapshot");
            }
            SnapshotInfo info = file.info();
            long fromFile = file.hashKv();
            long member = join(live);
            if (fromFile != member) {
                throw new Refused(String.format(java.util.Locale.ROOT, "HashKV at revision %d is %08x in the file but %08x on the member%s",
                        info.revision(), fromFile, member, info.compactionPending() ? " (a compaction was under way: the next slot tries again)"
                                : ": the snapshot does not hold the member's data"));
            }
            String cluster = config.cluster().orElse(view.clusterId());
            BackupManifest described = new BackupManifest(BackupManifest.FORMAT, cluster + "-" + ID_TIME.format(takenAt) + "-r" + info.revision(),
                    cluster, view.clusterId(), members(view), info.revision(), info.compactRevision(), fromFile, info.totalKeys(),
                    view.version(), Files.size(snapshot), digest.hex(), null, 0, null, null, takenAt.toString(), hostName, slot, null, null);
            BackupManifest stored = store.store(described, packed, signer);
            log.info("backup {} stored in {}: revision {}, {} keys, HashKV {} equal to the member's, {} bytes ({} compressed)",
                    stored.id(), store.dir(), stored.revision(), stored.totalKeys(), Long.toHexString(stored.hashKv()),
                    stored.snapshotSize(), stored.fileSize());
            return stored;
        } finally {
            if (packing != null) {
                discardWhenDone(packing);
            }
            Files.deleteIfExists(snapshot);
            Files.deleteIfExists(GrowingSnapshot.partOf(snapshot));
        }
    }

    /** The member's HashKV at {@code revision}, asked on a thread of its own: etcd does the work. */
    private void askLive(long revision, CompletableFuture<Long> live) {
        Thread asking = new Thread(() -> {
            try {
                live.complete(etcdctl.hashKv(revision, Duration.ofMinutes(5)));
            } catch (IOException | RuntimeException e) {
                live.completeExceptionally(e);
            }
        }, "backup-hashkv");
        asking.start();
    }

    /** Waits for the packing before the snapshot is removed; a packed file whose backup was not stored goes. */
    private void discardWhenDone(CompletableFuture<BackupStore.Packed> packing) throws IOException {
        try {
            store.discard(packing.join());
        } catch (java.util.concurrent.CompletionException e) {
            // The pack failed and removed its own file; its error, when it matters, was raised where it was joined.
            log.debug("backup packing ended with {}", e.getCause().toString());
        }
    }

    private static <T> T join(CompletableFuture<T> future) throws IOException {
        try {
            return future.join();
        } catch (java.util.concurrent.CompletionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof UncheckedIOException u) {
                throw u.getCause();
            }
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(cause);
        }
    }

    /**
     * What retention decided: the ids removed (or that would be), each kept one with its reason, and those it leaves
     * to the operator (a manifest that does not hold, or a file that did not read back), each with why.
     */
    public record Pruned(List<String> remove, java.util.Map<String, String> keep, java.util.Map<String, String> leftAlone) {}

    /**
     * Applies retention to the trusted backups of this dir (own and copies alike); with {@code dryRun}, removes nothing.
     * With {@code readBack}, the newest ones are read back first until one holds: those that do not are left alone
     * (never removed by retention), and the floor "the newest verified backup" is the newest that read back whole.
     */
    Pruned prune(boolean dryRun, boolean readBack) throws IOException {
        List<BackupStore.Listed> listed = store.list();
        java.util.Map<String, String> leftAlone = new java.util.LinkedHashMap<>();
        listed.stream().filter(l -> !l.trusted()).forEach(l -> leftAlone.put(l.id(), l.problem()));
        if (readBack) {
            List<BackupStore.Listed> newestFirst = listed.stream().filter(BackupStore.Listed::trusted)
                    .sorted(java.util.Comparator.comparing((BackupStore.Listed l) -> Instant.parse(l.manifest().takenAt())).reversed())
                    .toList();
            for (BackupStore.Listed l : newestFirst) {
                java.util.Optional<String> differs = store.verify(l.manifest());
                if (differs.isEmpty()) {
                    break;
                }
                leftAlone.put(l.id(), "does not read back: " + differs.get());
            }
        }
        List<Retention.Candidate> candidates = listed.stream()
                .map(l -> new Retention.Candidate(l.id(), l.trusted() ? Instant.parse(l.manifest().takenAt()) : Instant.EPOCH,
                        l.trusted() && !leftAlone.containsKey(l.id()),
                        RestoreDrill.last(store.dir(), l.id()).map(RestoreDrill.Result::ok).orElse(false))).toList();
        Retention.Decision d = Retention.decide(candidates, clock.instant(), config.retention());
        if (!dryRun) {
            for (String id : d.remove()) {
                store.remove(id);
                java.nio.file.Files.deleteIfExists(store.dir().resolve(id + RestoreDrill.DRILL));
                log.info("backup {} removed by retention", id);
            }
        }
        return new Pruned(d.remove(), d.keep(), leftAlone);
    }

    private static List<BackupManifest.Member> members(LocalEtcdctl.ClusterView view) {
        return view.members().stream().map(m -> new BackupManifest.Member(m.id(), m.name(), m.peerUrls(), m.clientUrls())).toList();
    }
}
