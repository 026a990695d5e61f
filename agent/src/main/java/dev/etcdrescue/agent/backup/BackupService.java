package dev.etcdrescue.agent.backup;

import dev.etcdrescue.proto.v1.BackupAgentGrpc;
import dev.etcdrescue.proto.v1.BackupCopyChunk;
import dev.etcdrescue.proto.v1.BackupCopyResult;
import dev.etcdrescue.proto.v1.BackupEntry;
import dev.etcdrescue.proto.v1.KeptBackup;
import dev.etcdrescue.proto.v1.PruneBackupsRequest;
import dev.etcdrescue.proto.v1.PruneResult;
import dev.etcdrescue.proto.v1.BackupList;
import dev.etcdrescue.proto.v1.DrillBackupRequest;
import dev.etcdrescue.proto.v1.DrillResult;
import dev.etcdrescue.proto.v1.FetchBackupRequest;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.agent.transfer.FileStreams;
import java.nio.file.Files;
import java.nio.file.Path;
import dev.etcdrescue.proto.v1.ListBackupsRequest;
import dev.etcdrescue.proto.v1.TakeBackupRequest;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The BackupAgent service: what this agent's backup dir holds, and a backup on demand. */
public final class BackupService extends BackupAgentGrpc.BackupAgentImplBase {
    private static final Logger log = LoggerFactory.getLogger(BackupService.class);
    private final Optional<BackupScheduler> backups;
    /** The caller's certificate CN, from the call's context (the interceptor puts it there). */
    private final java.util.function.Supplier<String> caller;

    public BackupService(Optional<BackupScheduler> backups, java.util.function.Supplier<String> caller) {
        this.backups = backups;
        this.caller = caller;
    }

    @Override
    public void listBackups(ListBackupsRequest request, StreamObserver<BackupList> out) {
        if (backups.isEmpty()) {
            out.onNext(BackupList.newBuilder().setConfigured(false).build());
            out.onCompleted();
            return;
        }
        BackupScheduler b = backups.get();
        try {
            BackupList.Builder list = BackupList.newBuilder().setConfigured(true).setDir(b.config().dir().toString())
                    .setIntervalMs(b.config().interval().toMillis()).setLastResult(b.lastResult());
            for (BackupStore.Listed l : b.store().list()) {
                if (!request.getId().isEmpty() && !l.id().equals(request.getId())) {
                    continue;
                }
                BackupEntry.Builder e = l.trusted() ? entry(l.manifest()).setTrusted(true) : BackupEntry.newBuilder().setId(l.id());
                RestoreDrill.last(b.store().dir(), l.id()).ifPresent(d -> e.setLastDrill(proto(d)));
                if (!l.trusted()) {
                    e.setProblem(l.problem());
                } else if (request.getReadBack()) {
                    Optional<String> differs = request.getDeep()
                            ? b.store().verifyDeep(l.manifest(), b.stagingFile("verify-" + l.id() + "-" + java.util.UUID.randomUUID() + ".db"))
                            : b.store().verify(l.manifest());
                    e.setReadBackOk(differs.isEmpty()).setProblem(differs.orElse(""));
                }
                list.addBackups(e);
            }
            if (request.getObjectStore()) {
                b.objects().ifPresent(o -> remote(o, request, list));
            }
            out.onNext(list.build());
            out.onCompleted();
        } catch (IOException e) {
            out.onError(Status.INTERNAL.withDescription("cannot read the backup dir " + b.config().dir() + ": " + e.getMessage())
                    .asRuntimeException());
        }
    }

    /** The copies in object storage, as entries with {@code location}; a store that cannot be listed is said, not thrown. */
    private static void remote(ObjectCatalogue o, ListBackupsRequest request, BackupList.Builder list) {
        list.setObjectStore(o.location());
        try {
            for (ObjectCatalogue.Remote r : o.list(request.getReadBack(), request.getDeep())) {
                if (!request.getId().isEmpty() && !r.id().equals(request.getId())) {
                    continue;
                }
                BackupEntry.Builder e = r.manifest() != null ? entry(r.manifest()) : BackupEntry.newBuilder().setId(r.id());
                list.addBackups(e.setLocation(o.location()).setTrusted(r.manifest() != null).setReadBackOk(r.readBackOk())
                        .setProblem(r.problem() == null ? "" : r.problem()));
            }
        } catch (IOException | RuntimeException e) {
            log.warn("cannot list {}: {}", o.location(), e.getMessage());
            list.setObjectStoreError(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        }
    }

    @Override
    public void takeBackup(TakeBackupRequest request, StreamObserver<BackupEntry> out) {
        if (backups.isEmpty()) {
            out.onError(Status.FAILED_PRECONDITION.withDescription("backups are not configured on this host: add backup: to agent.yaml")
                    .asRuntimeException());
            return;
        }
        try {
            BackupScheduler.Taken taken = backups.get().takeNow();
            out.onNext(entry(taken.manifest()).setTrusted(true).addAllCopies(taken.copies()).build());
            out.onCompleted();
        } catch (BackupTaker.Refused e) {
            log.warn("backup on demand refused: {}", e.getMessage());
            out.onError(Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException());
        } catch (IOException e) {
            log.warn("backup on demand failed: {}", e.getMessage());
            out.onError(Status.INTERNAL.withDescription("backup failed: " + e.getMessage()).asRuntimeException());
        }
    }

    @Override
    public void drillBackup(DrillBackupRequest request, StreamObserver<DrillResult> out) {
        if (backups.isEmpty()) {
            out.onError(Status.FAILED_PRECONDITION.withDescription("backups are not configured on this host: add backup: to agent.yaml")
                    .asRuntimeException());
            return;
        }
        try {
            RestoreDrill.Result r = backups.get().drillNow(request.getId().isEmpty() ? Optional.empty() : Optional.of(request.getId()));
            out.onNext(proto(r));
            out.onCompleted();
        } catch (BackupTaker.Refused e) {
            out.onError(Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException());
        } catch (IOException e) {
            out.onError(Status.INTERNAL.withDescription("drill failed: " + e.getMessage()).asRuntimeException());
        }
    }

    @Override
    public void fetchBackup(FetchBackupRequest request, StreamObserver<SnapshotChunk> out) {
        if (backups.isEmpty()) {
            out.onError(Status.FAILED_PRECONDITION.withDescription("backups are not configured on this host").asRuntimeException());
            return;
        }
        BackupStore store = backups.get().store();
        Path temp = null;
        try {
            BackupStore.Listed found = store.list().stream().filter(l -> l.id().equals(request.getId())).findFirst()
                    .orElseThrow(() -> Status.NOT_FOUND.withDescription("no backup " + request.getId() + " in " + store.dir()).asRuntimeException());
            if (!found.trusted()) {
                throw Status.FAILED_PRECONDITION.withDescription("backup " + found.id() + " is not trusted: " + found.problem()).asRuntimeException();
            }
            Optional<String> differs = store.verify(found.manifest());
            if (differs.isPresent()) {
                throw Status.FAILED_PRECONDITION.withDescription("backup " + found.id() + " does not read back: " + differs.get())
                        .asRuntimeException();
            }
            temp = backups.get().stagingFile("fetch-" + found.id() + "-" + java.util.UUID.randomUUID() + ".db");
            store.extract(found.manifest(), temp);
            Path sent = temp;
            log.info("sending backup {} ({} bytes) to the coordinator", found.id(), found.manifest().snapshotSize());
            FileStreams.send(out, sent, failure -> {
                try {
                    Files.deleteIfExists(sent);
                } catch (IOException e) {
                    log.warn("could not remove {}: {}", sent, e.getMessage());
                }
            });
        } catch (io.grpc.StatusRuntimeException e) {
            out.onError(e);
        } catch (IOException e) {
            removeQuietly(temp);
            out.onError(Status.INTERNAL.withDescription("cannot read backup " + request.getId() + ": " + e.getMessage()).asRuntimeException());
        }
    }

    private static void removeQuietly(Path file) {
        if (file != null) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                log.warn("could not remove {}: {}", file, e.getMessage());
            }
        }
    }

    private static DrillResult proto(RestoreDrill.Result r) {
        return DrillResult.newBuilder().setId(r.id()).setAt(r.at()).setOk(r.ok()).setSeconds(r.seconds()).setRevision(r.revision())
                .setHashKv(r.hashKv()).setProblem(r.problem() == null ? "" : r.problem()).build();
    }

    private static BackupEntry.Builder entry(BackupManifest m) {
        return BackupEntry.newBuilder().setId(m.id()).setCluster(m.cluster()).setClusterId(m.clusterId()).setRevision(m.revision())
                .setTotalKeys(m.totalKeys()).setTakenAt(m.takenAt()).setTakenBy(m.takenBy()).setSnapshotSize(m.snapshotSize())
                .setFileSize(m.fileSize()).setEtcdVersion(m.etcdVersion()).setHashKv(m.hashKv()).setFileSha256(m.fileSha256())
                .setSnapshotSha256(m.snapshotSha256()).setCopyFrom(m.copyFrom() == null ? "" : m.copyFrom())
                .setCopiedAt(m.copiedAt() == null ? "" : m.copiedAt());
    }

    @Override
    public void pruneBackups(PruneBackupsRequest request, StreamObserver<PruneResult> out) {
        if (backups.isEmpty()) {
            out.onError(Status.FAILED_PRECONDITION.withDescription("backups are not configured on this host: add backup: to agent.yaml")
                    .asRuntimeException());
            return;
        }
        try {
            BackupTaker.Pruned p = backups.get().prune(request.getDryRun());
            PruneResult.Builder r = PruneResult.newBuilder().setDryRun(request.getDryRun()).addAllRemoved(p.remove());
            p.keep().forEach((id, why) -> r.addKept(KeptBackup.newBuilder().setId(id).setReason(why)));
            p.leftAlone().forEach((id, why) -> r.addUntrusted(id + ": " + why));
            out.onNext(r.build());
            out.onCompleted();
        } catch (IOException e) {
            out.onError(Status.INTERNAL.withDescription("prune failed: " + e.getMessage()).asRuntimeException());
        }
    }

    @Override
    public StreamObserver<BackupCopyChunk> storeBackupCopy(StreamObserver<BackupCopyResult> out) {
        String from = caller.get();
        if (backups.isEmpty()) {
            out.onError(Status.FAILED_PRECONDITION.withDescription("backups are not configured on this host: add backup: to its agent.yaml"
                    + " to hold copies").asRuntimeException());
            return new StreamObserver<>() {
                @Override
                public void onNext(BackupCopyChunk value) {}

                @Override
                public void onError(Throwable t) {}

                @Override
                public void onCompleted() {}
            };
        }
        PeerCopies copies = backups.get().copies();
        return new StreamObserver<>() {
            private IncomingCopy incoming;
            private boolean done;

            @Override
            public void onNext(BackupCopyChunk chunk) {
                if (done) {
                    return;
                }
                try {
                    if (incoming == null) {
                        PeerCopies.Accepted accepted = copies.accept(chunk.getManifest().toByteArray(), from);
                        if (accepted.alreadyHeld().isPresent()) {
                            answer(BackupCopyResult.newBuilder().setId(accepted.original().id()).setHolder(copies.hostName())
                                    .setCopiedAt(nullToEmpty(accepted.alreadyHeld().get().copiedAt())).setAlreadyHeld(true).build());
                            return;
                        }
                        incoming = copies.receive(accepted.original());
                    }
                    if (!chunk.getData().isEmpty()) {
                        incoming.write(chunk.getData().asReadOnlyByteBuffer());
                    }
                    if (chunk.getLast()) {
                        BackupManifest held = copies.finish(incoming);
                        log.info("backup {} from {}: copy held, read back whole", held.id(), from);
                        answer(BackupCopyResult.newBuilder().setId(held.id()).setHolder(copies.hostName()).setCopiedAt(held.copiedAt())
                                .build());
                    }
                } catch (PeerCopies.Refused e) {
                    fail(Status.PERMISSION_DENIED.withDescription(e.getMessage()));
                } catch (IOException e) {
                    fail(Status.FAILED_PRECONDITION.withDescription("copy not kept: " + e.getMessage()));
                }
            }

            private void answer(BackupCopyResult result) {
                done = true;
                closeIncoming();
                out.onNext(result);
                out.onCompleted();
            }

            private void fail(Status status) {
                log.warn("copy from {} refused: {}", from, status.getDescription());
                done = true;
                closeIncoming();
                out.onError(status.asRuntimeException());
            }

            private void closeIncoming() {
                if (incoming != null) {
                    try {
                        incoming.close();
                    } catch (IOException e) {
                        log.warn("could not remove an unfinished copy: {}", e.getMessage());
                    }
                }
            }

            @Override
            public void onError(Throwable t) {
                if (!done) {
                    log.warn("copy from {} broke off: {}", from, t.getMessage());
                    done = true;
                    closeIncoming();
                }
            }

            @Override
            public void onCompleted() {
                if (!done) {
                    fail(Status.INVALID_ARGUMENT.withDescription("the copy ended without its last message: nothing kept"));
                }
            }
        };
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
