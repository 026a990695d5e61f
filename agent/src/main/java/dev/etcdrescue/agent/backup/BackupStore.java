package dev.etcdrescue.agent.backup;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import dev.etcdrescue.agent.io.SafeFiles;
import dev.etcdrescue.pki.SigningIdentity;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import dev.etcdrescue.snapshotformat.bolt.BoltSnapshot;
import dev.etcdrescue.snapshotformat.bolt.SnapshotInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * One agent's backups in its backup dir: {@code <id>.db.zst} and, written after it and atomically,
 * {@code <id>.manifest.json}. A file is complete only once its manifest exists; a manifest is trusted only
 * when its signature holds against the fleet CA and its file has the size it names.
 */
public final class BackupStore {
    static final String DATA = ".db.zst";
    static final String MANIFEST = ".manifest.json";
    /** Level 1: it runs beside etcdctl, so its speed bounds the backup; the bench snapshot packed to 0.505 of its size, 0.506 at 3. */
    private static final int ZSTD_LEVEL = 1;
    private static final int PACK_BUFFER = 1 << 20;
    private static final String PACKING = ".packing-";
    private final Path dir;
    private final X509Certificate fleetCa;

    public BackupStore(Path dir, X509Certificate fleetCa) {
        this.dir = dir;
        this.fleetCa = fleetCa;
    }

    public Path dir() {
        return dir;
    }

    /** A store over another dir that checks manifests against the same fleet CA (a copy downloaded into scratch). */
    public BackupStore elsewhere(Path otherDir) {
        return new BackupStore(otherDir, fleetCa);
    }

    /** A backup found in the dir: its manifest when trusted, else why not. */
    public record Listed(String id, BackupManifest manifest, String problem) {
        public boolean trusted() {
            return problem == null;
        }
    }

    /** A snapshot compressed into the dir under a temporary name, fsynced, with what was computed on the way. */
    public record Packed(Path part, SnapshotDigest snapshot, String fileSha256) {}

    /**
     * Reads {@code snapshot} once: its SHA-256 and etcd's trailer, and zstd into a temporary file in the dir,
     * fsynced. The checks of the snapshot can run beside it; {@link #store(BackupManifest, Packed, SigningIdentity)}
     * completes it, {@link #discard} drops it.
     */
    public Packed pack(Path snapshot) throws IOException {
        try (InputStream in = Files.newInputStream(snapshot)) {
            return pack(in);
        }
    }

    /** {@link #pack(Path)} from a stream: a snapshot read while etcdctl still writes it ({@link GrowingSnapshot}). */
    Packed pack(InputStream snapshot) throws IOException {
        Files.createDirectories(dir);
        try (Stream<Path> left = Files.list(dir)) {
            // Takes run one at a time: a packing file now is one an agent stopped in the middle of.
            for (Path stale : left.filter(f -> f.getFileName().toString().startsWith(PACKING)).toList()) {
                Files.deleteIfExists(stale);
            }
        }
        Path part = dir.resolve(PACKING + UUID.randomUUID() + DATA + ".part");
        SnapshotDigest digest = new SnapshotDigest();
        MessageDigest stored = SnapshotDigest.newSha256();
        byte[] buffer = new byte[PACK_BUFFER];
        try {
            try (OutputStream file = Files.newOutputStream(part, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                 ZstdOutputStream out = new ZstdOutputStream(new DigestOutputStream(file, stored), ZSTD_LEVEL)) {
                for (int n = snapshot.read(buffer); n >= 0; n = snapshot.read(buffer)) {
                    digest.update(buffer, 0, n);
                    out.write(buffer, 0, n);
                }
            }
            try (FileChannel c = FileChannel.open(part, StandardOpenOption.WRITE)) {
                c.force(true);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(part);
            throw e;
        }
        return new Packed(part, digest, HexFormat.of().formatHex(stored.digest()));
    }

    /** Removes a packed file whose snapshot failed its checks. */
    public void discard(Packed packed) throws IOException {
        Files.deleteIfExists(packed.part());
    }

    /** {@link #pack} and {@link #store(BackupManifest, Packed, SigningIdentity)} in sequence. */
    public BackupManifest store(BackupManifest described, Path snapshot, SigningIdentity signer) throws IOException {
        Packed packed = pack(snapshot);
        try {
            return store(described, packed, signer);
        } finally {
            discard(packed);
        }
    }

    /**
     * Completes a packed backup: its file renamed to the backup's name, then the signed manifest, written
     * atomically and last. Without the manifest the file is never listed.
     */
    public BackupManifest store(BackupManifest described, Packed packed, SigningIdentity signer) throws IOException {
        Path data = dir.resolve(described.id() + DATA);
        if (Files.exists(data) || Files.exists(dir.resolve(described.id() + MANIFEST))) {
            throw new IOException("a backup named " + described.id() + " is already in " + dir);
        }
        SafeFiles.moveNoReplace(packed.part(), data);
        BackupManifest complete = new BackupManifest(described.format(), described.id(), described.cluster(), described.clusterId(),
                described.members(), described.revision(), described.compactRevision(), described.hashKv(), described.totalKeys(),
                described.etcdVersion(), described.snapshotSize(), described.snapshotSha256(), data.getFileName().toString(),
                Files.size(data), packed.fileSha256(), "zstd", described.takenAt(), described.takenBy(),
                described.slot(), null, null);
        SafeFiles.writeAtomically(dir.resolve(described.id() + MANIFEST),
                new String(ManifestEnvelope.sign(complete, signer), StandardCharsets.UTF_8), "rw-------");
        SafeFiles.fsyncDirectory(dir);
        return complete;
    }

    /** Every manifest in the dir, newest id last; a data file without one is not listed (never finished). */
    public List<Listed> list() throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<Listed> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path m : files.filter(f -> f.getFileName().toString().endsWith(MANIFEST)).sorted().toList()) {
                String id = m.getFileName().toString().replace(MANIFEST, "");
                ManifestEnvelope.Checked checked = ManifestEnvelope.read(Files.readAllBytes(m), fleetCa);
                out.add(checked.trusted() ? withFile(id, checked.manifest()) : new Listed(id, null, checked.problem()));
            }
        }
        return out;
    }

    private Listed withFile(String id, BackupManifest manifest) {
        if (!manifest.id().equals(id) || !manifest.file().equals(id + DATA)) {
            return new Listed(id, manifest, "the manifest names another backup (" + manifest.id() + ")");
        }
        Path data = dir.resolve(manifest.file());
        try {
            long size = Files.size(data);
            return size == manifest.fileSize() ? new Listed(id, manifest, null)
                    : new Listed(id, manifest, manifest.file() + " holds " + size + " bytes, the manifest says " + manifest.fileSize());
        } catch (IOException e) {
            return new Listed(id, manifest, manifest.file() + " is missing or unreadable: " + e.getMessage());
        }
    }

    /** Reads the whole file back: its stored SHA-256, then the snapshot's inside it. Empty when both match. */
    public Optional<String> verify(BackupManifest manifest) throws IOException {
        MessageDigest stored = SnapshotDigest.newSha256();
        MessageDigest snapshot = SnapshotDigest.newSha256();
        long size;
        try (InputStream file = new DigestInputStream(Files.newInputStream(dir.resolve(manifest.file())), stored);
             InputStream in = new DigestInputStream(new ZstdInputStream(file), snapshot)) {
            size = in.transferTo(OutputStream.nullOutputStream());
        } catch (java.nio.file.NoSuchFileException e) {
            return Optional.of(manifest.file() + " is missing");
        } catch (IOException e) {
            // zstd checks each frame's own checksum as it reads: a damaged file usually fails here, before the digests.
            return Optional.of(manifest.file() + " is damaged: zstd: " + e.getMessage());
        }
        String storedHex = HexFormat.of().formatHex(stored.digest());
        if (!storedHex.equals(manifest.fileSha256())) {
            return Optional.of(manifest.file() + " has SHA-256 " + storedHex + ", the manifest says " + manifest.fileSha256());
        }
        String snapshotHex = HexFormat.of().formatHex(snapshot.digest());
        if (size != manifest.snapshotSize() || !snapshotHex.equals(manifest.snapshotSha256())) {
            return Optional.of("the snapshot inside " + manifest.file() + " differs from the one the manifest describes");
        }
        return Optional.empty();
    }

    /** Writes the snapshot inside a backup to {@code target} (a new file). */
    public void extract(BackupManifest manifest, Path target) throws IOException {
        try (InputStream in = new ZstdInputStream(Files.newInputStream(dir.resolve(manifest.file())));
             OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            in.transferTo(out);
        }
    }

    /** A signed manifest from elsewhere (a peer's), checked against the fleet CA as the ones here are. */
    public ManifestEnvelope.Checked check(byte[] envelope) {
        return ManifestEnvelope.read(envelope, fleetCa);
    }

    /** The signed manifest of {@code id} exactly as stored (what a peer copy carries). */
    public byte[] manifestBytes(String id) throws IOException {
        return Files.readAllBytes(dir.resolve(id + MANIFEST));
    }

    /**
     * {@link #verify} and then the snapshot inside, unpacked to {@code scratch} (removed after): etcd's SHA-256
     * trailer, the bbolt structure, and revision, key count and HashKV equal to the manifest's. Empty when all hold.
     */
    public Optional<String> verifyDeep(BackupManifest manifest, Path scratch) throws IOException {
        Optional<String> digests = verify(manifest);
        if (digests.isPresent()) {
            return digests;
        }
        try {
            extract(manifest, scratch);
            SnapshotDigest digest = new SnapshotDigest();
            byte[] buffer = new byte[1 << 16];
            try (InputStream in = Files.newInputStream(scratch)) {
                for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                    digest.update(buffer, 0, n);
                }
            }
            if (digest.trailer() != SnapshotDigest.Trailer.VALID) {
                return Optional.of("the snapshot inside " + manifest.file() + " has etcd's hash trailer "
                        + digest.trailer().name().toLowerCase(java.util.Locale.ROOT));
            }
            SnapshotInfo info;
            long hashKv;
            try {
                info = BoltSnapshot.read(scratch);
                hashKv = BoltSnapshot.hashKv(scratch);
            } catch (IOException | RuntimeException e) {
                return Optional.of("the snapshot inside " + manifest.file() + " is not a whole bbolt file: " + e.getMessage());
            }
            if (info.revision() != manifest.revision() || info.totalKeys() != manifest.totalKeys() || hashKv != manifest.hashKv()) {
                return Optional.of(String.format(java.util.Locale.ROOT, "the snapshot inside %s holds revision %d, %d keys, HashKV %08x;"
                        + " the manifest says revision %d, %d keys, HashKV %08x", manifest.file(), info.revision(), info.totalKeys(),
                        hashKv, manifest.revision(), manifest.totalKeys(), manifest.hashKv()));
            }
            return Optional.empty();
        } finally {
            Files.deleteIfExists(scratch);
        }
    }

    /**
     * Starts receiving a copy of {@code original} (a manifest whose signature was checked): its file goes in under a
     * temporary name. A data file of that id without a manifest (a copy that never finished) is moved aside first.
     */
    public IncomingCopy receiveCopy(BackupManifest original) throws IOException {
        Files.createDirectories(dir);
        Path data = dir.resolve(original.id() + DATA);
        if (Files.exists(dir.resolve(original.id() + MANIFEST))) {
            throw new IOException("a backup named " + original.id() + " is already in " + dir);
        }
        if (Files.exists(data)) {
            Path aside = SafeFiles.moveAside(data, ".unfinished");
            org.slf4j.LoggerFactory.getLogger(BackupStore.class).warn("{} had no manifest (never finished): moved aside to {}", data, aside);
        }
        Path part = dir.resolve("." + original.id() + DATA + ".part");
        Files.deleteIfExists(part);
        return new IncomingCopy(this, original, part, data);
    }

    /** Completes a copy whose file is in place: reads it back whole, then writes the holder's manifest, last. */
    BackupManifest completeCopy(BackupManifest original, Path data, SigningIdentity holder, String fromHost, String at) throws IOException {
        Optional<String> differs = verify(original);
        if (differs.isPresent()) {
            Files.deleteIfExists(data);
            throw new IOException("the copy does not read back: " + differs.get());
        }
        BackupManifest copy = original.asCopy(fromHost, at);
        SafeFiles.writeAtomically(dir.resolve(original.id() + MANIFEST),
                new String(ManifestEnvelope.sign(copy, holder), StandardCharsets.UTF_8), "rw-------");
        SafeFiles.fsyncDirectory(dir);
        return copy;
    }

    /** Removes a backup retention let go: the manifest first, so that a half-removed backup is never listed. */
    public void remove(String id) throws IOException {
        Files.deleteIfExists(dir.resolve(id + MANIFEST));
        Files.deleteIfExists(dir.resolve(id + DATA));
        SafeFiles.fsyncDirectory(dir);
    }
}
