package dev.etcdrescue.agent.backup;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.transfer.SnapshotInspector;
import dev.etcdrescue.agent.transfer.TransferService;
import dev.etcdrescue.proto.v1.ErrorReason;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TakeSnapshot with a backup id ({@code recover --from-backup}): the snapshot inside a backup this agent holds (its
 * own or a peer's copy) is read back against its signed manifest, unpacked into the staging dir and staged under the
 * id its digest gives it, as a snapshot taken of the member is. The coordinator gets size, digest and etcd's snapshot
 * status, checks the digest against the manifest it listed, and has this agent send the file on to the others: the
 * backup's bytes never pass through the coordinator.
 */
public final class BackupStaging {
    private static final Logger log = LoggerFactory.getLogger(BackupStaging.class);
    private static final String TEMP_PREFIX = "backup-unpack-";

    private final BackupStore store;
    private final TransferService transfers;
    private final Optional<ObjectCatalogue> objects;

    public BackupStaging(BackupStore store, TransferService transfers) {
        this(store, transfers, Optional.empty());
    }

    /** @param objects the copies in object storage (backup.s3), which {@link #stageFromObjectStore} downloads */
    public BackupStaging(BackupStore store, TransferService transfers, Optional<ObjectCatalogue> objects) {
        this.store = store;
        this.transfers = transfers;
        this.objects = objects;
    }

    /**
     * The copy of {@code backupId} in object storage: its manifest checked as a local one is (signature, signer, cluster),
     * the file downloaded into a scratch dir in staging and read back against it, then unpacked and staged as a local copy
     * is. Nothing is staged when any check fails; the scratch dir is removed either way.
     */
    public TransferResult stageFromObjectStore(String backupId, String operationId) throws IOException {
        if (objects.isEmpty()) {
            throw AgentException.failedPrecondition(ErrorReason.NOT_STAGED, "this agent has no backup.s3 in its agent.yaml, so it"
                    + " cannot fetch backup " + backupId + " from object storage");
        }
        ObjectCatalogue o = objects.get();
        ObjectCatalogue.Remote found = o.find(backupId);
        if (!found.trusted()) {
            throw AgentException.failedPrecondition(ErrorReason.NOT_A_SNAPSHOT, "backup " + backupId + " in " + o.location()
                    + " is not trusted: " + found.problem());
        }
        transfers.staging().ensureDir();
        Path scratch = transfers.staging().dir().resolve("s3-" + UUID.randomUUID());
        try {
            BackupStore downloaded;
            try {
                downloaded = o.fetch(found.manifest(), scratch);
            } catch (IOException e) {
                throw AgentException.failedPrecondition(ErrorReason.DIGEST_MISMATCH, "backup " + backupId + " could not be downloaded"
                        + " from " + o.location() + ": " + e.getMessage() + "; nothing was staged");
            }
            log.info("backup {} downloaded from {} into {}", backupId, o.location(), scratch);
            return stage(downloaded, found.manifest(), backupId, operationId, o.location());
        } finally {
            ObjectCatalogue.removeScratch(scratch);
        }
    }

    /** @throws AgentException naming the backup and why, when it is absent, untrusted or does not read back; nothing is staged then */
    public TransferResult stage(String backupId, String operationId) throws IOException {
        BackupStore.Listed found = store.list().stream().filter(l -> l.id().equals(backupId)).findFirst()
                .orElseThrow(() -> AgentException.failedPrecondition(ErrorReason.NOT_STAGED, "no backup " + backupId + " in "
                        + store.dir() + ": see 'etcd-rescue backup list'"));
        if (!found.trusted()) {
            throw AgentException.failedPrecondition(ErrorReason.NOT_A_SNAPSHOT, "backup " + backupId + " in " + store.dir()
                    + " is not trusted: " + found.problem());
        }
        return stage(store, found.manifest(), backupId, operationId, store.dir().toString());
    }

    private TransferResult stage(BackupStore store, BackupManifest manifest, String backupId, String operationId, String where)
            throws IOException {
        Optional<String> differs = store.verify(manifest);
        if (differs.isPresent()) {
            throw AgentException.failedPrecondition(ErrorReason.DIGEST_MISMATCH, "backup " + backupId + " in " + where
                    + " does not read back: " + differs.get() + "; nothing was staged");
        }
        transfers.staging().ensureDir();
        Path temp = transfers.staging().dir().resolve(TEMP_PREFIX + UUID.randomUUID() + ".db");
        try {
            store.extract(manifest, temp);
            SnapshotDigest digest = SnapshotInspector.digest(temp);
            if (!digest.hex().equals(manifest.snapshotSha256()) || Files.size(temp) != manifest.snapshotSize()) {
                // Read back whole a moment ago: the file changed under us.
                throw AgentException.failedPrecondition(ErrorReason.DIGEST_MISMATCH, "backup " + backupId + " unpacked to SHA-256 "
                        + digest.hex() + ", its manifest says " + manifest.snapshotSha256() + "; nothing was staged");
            }
            if (digest.trailer() != SnapshotDigest.Trailer.VALID) {
                throw AgentException.failedPrecondition(ErrorReason.NOT_A_SNAPSHOT, "the snapshot inside backup " + backupId
                        + " has no valid SHA-256 trailer; nothing was staged");
            }
            log.info("backup {} read back against its manifest and unpacked for staging", backupId);
            return transfers.adopt("sha256-" + digest.hex().substring(0, 32), temp, digest, "backup:" + backupId, operationId);
        } finally {
            Files.deleteIfExists(temp);
        }
    }
}
