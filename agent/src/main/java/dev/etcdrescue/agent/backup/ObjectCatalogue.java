package dev.etcdrescue.agent.backup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * What this cluster's prefix in object storage holds, judged as the backup dir is: a manifest counts only when its
 * signature holds against the fleet CA, its signer is an agent, it names the object it sits beside and this cluster;
 * reading back downloads the file into a scratch dir in staging and checks it with {@link BackupStore#verify} (or
 * {@link BackupStore#verifyDeep}), exactly as a local copy is checked. The coordinator asks for this through an agent:
 * the agents hold the store's settings and key, the coordinator never does.
 */
public final class ObjectCatalogue {
    private final ObjectCopies objects;
    private final BackupStore store;
    private final Path staging;
    private final String cluster;

    public ObjectCatalogue(ObjectCopies objects, BackupStore store, Path staging, String cluster) {
        this.objects = objects;
        this.store = store;
        this.staging = staging;
        this.cluster = cluster;
    }

    public String location() {
        return objects.location();
    }

    /** One backup in object storage: its manifest when trusted, else why not; and, when read back, what that found. */
    public record Remote(String id, BackupManifest manifest, String problem, boolean readBackOk) {
        public boolean trusted() {
            return manifest != null && problem == null;
        }
    }

    /** Every manifest under the prefix; with {@code readBack}, each trusted one's file downloaded and checked. */
    public List<Remote> list(boolean readBack, boolean deep) throws IOException {
        List<Remote> out = new ArrayList<>();
        for (ObjectCopies.Listed l : objects.list()) {
            Remote judged = judge(l);
            if (judged.trusted() && readBack) {
                Optional<String> differs = readBack(judged.manifest(), deep);
                judged = new Remote(judged.id(), judged.manifest(), differs.orElse(null), differs.isEmpty());
            }
            out.add(judged);
        }
        return out;
    }

    private Remote judge(ObjectCopies.Listed l) {
        ManifestEnvelope.Checked checked = store.check(l.envelope());
        if (!checked.trusted()) {
            return new Remote(l.id(), null, "the manifest is not trusted: " + checked.problem(), false);
        }
        BackupManifest m = checked.manifest();
        if (!m.id().equals(l.id()) || !m.file().equals(l.id() + BackupStore.DATA)) {
            return new Remote(l.id(), null, "the manifest names another backup (" + m.id() + ")", false);
        }
        if (!m.cluster().equals(cluster)) {
            return new Remote(l.id(), null, "the manifest is of cluster " + m.cluster() + ", not " + cluster, false);
        }
        return new Remote(l.id(), m, null, false);
    }

    /** The trusted manifest of backup {@code id} in object storage. */
    public Remote find(String id) throws IOException {
        for (ObjectCopies.Listed l : objects.list()) {
            if (l.id().equals(id)) {
                return judge(l);
            }
        }
        return new Remote(id, null, "no backup " + id + " in " + location(), false);
    }

    /** Downloads the file and checks it against the manifest; empty when it holds. */
    public Optional<String> readBack(BackupManifest manifest, boolean deep) throws IOException {
        Path scratch = staging.resolve("s3-" + UUID.randomUUID());
        try {
            BackupStore copy = fetch(manifest, scratch);
            return deep ? copy.verifyDeep(manifest, scratch.resolve(manifest.id() + ".db")) : copy.verify(manifest);
        } catch (IOException e) {
            return Optional.of("cannot be read from " + location() + ": " + e.getMessage());
        } finally {
            removeScratch(scratch);
        }
    }

    /**
     * Downloads the file of {@code manifest} into {@code scratch} (a new dir) and returns a store over it, whose
     * {@link BackupStore#verify} and {@link BackupStore#extract} work as on the backup dir. The caller removes
     * {@code scratch} ({@link #removeScratch}).
     */
    public BackupStore fetch(BackupManifest manifest, Path scratch) throws IOException {
        Files.createDirectories(scratch);
        objects.download(manifest, scratch.resolve(manifest.file()));
        return store.elsewhere(scratch);
    }

    public static void removeScratch(Path scratch) throws IOException {
        if (!Files.exists(scratch)) {
            return;
        }
        try (Stream<Path> files = Files.walk(scratch)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
