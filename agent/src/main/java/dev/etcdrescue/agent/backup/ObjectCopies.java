package dev.etcdrescue.agent.backup;

import dev.etcdrescue.agent.config.BackupConfig;
import dev.etcdrescue.agent.failpoint.Failpoints;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A copy of each backup in object storage ({@code backup.s3}). This interface names no SDK type: an agent without
 * {@code backup.s3} never loads the SDK's classes ({@link #open} is the only place that reaches the implementation,
 * and only when the setting is there).
 */
public interface ObjectCopies {
    /** Where the copies are, as listings name the holder: {@code s3://bucket/prefix}. */
    String location();

    /**
     * Uploads one backup: the stored file (streamed from disk, in parts when large), read back whole (size and SHA-256
     * against the manifest), then the signed manifest, last, read back too. On any failure nothing that names the
     * backup is left (an unfinished multipart upload is aborted, a file that did not read back is deleted).
     *
     * @throws IOException saying what failed; the local backup is untouched either way
     */
    Uploaded upload(BackupManifest manifest, Path file, byte[] envelope) throws IOException;

    /** What an upload moved and how long it took. */
    record Uploaded(String key, long bytes, double seconds, int parts) {}

    /** The manifests under this cluster's prefix, as stored (envelopes not yet checked), by backup id. */
    List<Listed> list() throws IOException;

    /** One manifest object: the backup id its key names and the envelope's bytes. */
    record Listed(String id, byte[] envelope) {}

    /** Downloads the stored file of {@code manifest} into {@code target} (a new file), checking only that it arrived whole. */
    void download(BackupManifest manifest, Path target) throws IOException;

    /**
     * The copy in object storage for {@code s3}, or empty when {@code s3} is. The SDK is loaded at the first upload,
     * listing or download, not before: an agent with backup.s3 whose schedule has not reached it yet holds none of it.
     */
    static Optional<ObjectCopies> open(Optional<BackupConfig.S3> s3, String cluster, Failpoints failpoints) {
        return s3.map(c -> new Lazy(c, () -> new S3Copies(c, cluster, () -> failpoints.hit(Failpoints.S3_AFTER_PART), S3Copies.PART_BYTES)));
    }

    /** Builds the SDK-backed copies at first use. */
    final class Lazy implements ObjectCopies {
        private final BackupConfig.S3 config;
        private final java.util.function.Supplier<ObjectCopies> open;
        private ObjectCopies opened;

        Lazy(BackupConfig.S3 config, java.util.function.Supplier<ObjectCopies> open) {
            this.config = config;
            this.open = open;
        }

        private synchronized ObjectCopies get() {
            if (opened == null) {
                opened = open.get();
            }
            return opened;
        }

        @Override
        public String location() {
            return config.location();
        }

        @Override
        public Uploaded upload(BackupManifest manifest, Path file, byte[] envelope) throws IOException {
            return get().upload(manifest, file, envelope);
        }

        @Override
        public List<Listed> list() throws IOException {
            return get().list();
        }

        @Override
        public void download(BackupManifest manifest, Path target) throws IOException {
            get().download(manifest, target);
        }
    }
}
