package dev.etcdrescue.agent.server;

import dev.etcdrescue.agent.AgentVersion;
import dev.etcdrescue.agent.config.ConfigWriter;
import dev.etcdrescue.agent.failpoint.Failpoints;
import dev.etcdrescue.agent.io.SafeFiles;
import dev.etcdrescue.agent.rollback.RollbackRunner;
import dev.etcdrescue.agent.preflight.HostTools;
import dev.etcdrescue.agent.preflight.PreflightChecker;
import dev.etcdrescue.agent.restore.RestoreRunner;
import dev.etcdrescue.agent.rpc.StatusMapper;
import dev.etcdrescue.agent.systemd.UnitOperations;
import dev.etcdrescue.agent.spec.PathRules;
import dev.etcdrescue.agent.transfer.DownloadSender;
import dev.etcdrescue.agent.transfer.LocalSnapshotSender;
import dev.etcdrescue.agent.transfer.SnapshotSender;
import dev.etcdrescue.agent.transfer.SourceSnapshot;
import dev.etcdrescue.agent.transfer.TransferService;
import dev.etcdrescue.agent.transfer.UploadCallbacks;
import dev.etcdrescue.agent.transfer.UploadReceiver;
import dev.etcdrescue.proto.v1.AgentStatus;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.ClaimReply;
import dev.etcdrescue.proto.v1.ClaimRequest;
import dev.etcdrescue.proto.v1.ConfigureRequest;
import dev.etcdrescue.proto.v1.ConfigureResult;
import dev.etcdrescue.proto.v1.CutOverRequest;
import dev.etcdrescue.proto.v1.CutOverResult;
import dev.etcdrescue.proto.v1.DownloadSnapshotRequest;
import dev.etcdrescue.proto.v1.GetStatusRequest;
import dev.etcdrescue.proto.v1.InspectUnitRequest;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.Phase;
import dev.etcdrescue.proto.v1.PreflightReport;
import dev.etcdrescue.proto.v1.PreflightRequest;
import dev.etcdrescue.proto.v1.ReleaseClaimRequest;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import dev.etcdrescue.proto.v1.RestoreRequest;
import dev.etcdrescue.proto.v1.RestoreResult;
import dev.etcdrescue.proto.v1.RollbackRequest;
import dev.etcdrescue.proto.v1.RollbackResult;
import dev.etcdrescue.proto.v1.SendSnapshotRequest;
import dev.etcdrescue.proto.v1.SendSnapshotResult;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TakeSnapshotRequest;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.proto.v1.TransferState;
import dev.etcdrescue.proto.v1.UnitRequest;
import dev.etcdrescue.proto.v1.UnitState;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.util.Optional;
import java.util.function.Consumer;

/** The RescueAgent gRPC service: each RPC is a few lines handing typed requests to its component. */
public final class RescueAgentService extends RescueAgentGrpc.RescueAgentImplBase {
    private final String hostName;
    private final RpcRunner rpc;
    private final HostTools hostTools;
    private final TransferService transfers;
    private final RestoreRunner restore;
    private final ConfigWriter configWriter;
    private final UnitOperations units;
    private final RollbackRunner rollback;
    private final PreflightChecker preflight;
    private final dev.etcdrescue.agent.cleanup.Leftovers leftovers;
    private final PathRules backupDirs;
    /** Null: this agent answers a snapshot of the local member with UNIMPLEMENTED. */
    private final LocalSnapshotSender localSnapshots;
    /** Null: backups are not configured here, so TakeSnapshot with a backup id is refused. */
    private final dev.etcdrescue.agent.backup.BackupStaging backupStaging;

    public RescueAgentService(String hostName, RpcRunner rpc, HostTools hostTools, TransferService transfers,
                              RestoreRunner restore, ConfigWriter configWriter, UnitOperations units,
                              RollbackRunner rollback, PreflightChecker preflight, PathRules backupDirs,
                              dev.etcdrescue.agent.cleanup.Leftovers leftovers) {
        this(hostName, rpc, hostTools, transfers, restore, configWriter, units, rollback, preflight, backupDirs, leftovers,
                null);
    }

    public RescueAgentService(String hostName, RpcRunner rpc, HostTools hostTools, TransferService transfers,
                              RestoreRunner restore, ConfigWriter configWriter, UnitOperations units,
                              RollbackRunner rollback, PreflightChecker preflight, PathRules backupDirs,
                              dev.etcdrescue.agent.cleanup.Leftovers leftovers, LocalSnapshotSender localSnapshots) {
        this(hostName, rpc, hostTools, transfers, restore, configWriter, units, rollback, preflight, backupDirs, leftovers,
                localSnapshots, null);
    }

    public RescueAgentService(String hostName, RpcRunner rpc, HostTools hostTools, TransferService transfers,
                              RestoreRunner restore, ConfigWriter configWriter, UnitOperations units,
                              RollbackRunner rollback, PreflightChecker preflight, PathRules backupDirs,
                              dev.etcdrescue.agent.cleanup.Leftovers leftovers, LocalSnapshotSender localSnapshots,
                              dev.etcdrescue.agent.backup.BackupStore backups) {
        this(hostName, rpc, hostTools, transfers, restore, configWriter, units, rollback, preflight, backupDirs, leftovers,
                localSnapshots, backups, java.util.Optional.empty());
    }

    /** @param objects the backups' copies in object storage (backup.s3), which TakeSnapshot can stage from */
    public RescueAgentService(String hostName, RpcRunner rpc, HostTools hostTools, TransferService transfers,
                              RestoreRunner restore, ConfigWriter configWriter, UnitOperations units,
                              RollbackRunner rollback, PreflightChecker preflight, PathRules backupDirs,
                              dev.etcdrescue.agent.cleanup.Leftovers leftovers, LocalSnapshotSender localSnapshots,
                              dev.etcdrescue.agent.backup.BackupStore backups,
                              java.util.Optional<dev.etcdrescue.agent.backup.ObjectCatalogue> objects) {
        this.backupStaging = backups == null ? null : new dev.etcdrescue.agent.backup.BackupStaging(backups, transfers, objects);
        this.leftovers = leftovers;
        this.localSnapshots = localSnapshots;
        this.hostName = hostName;
        this.rpc = rpc;
        this.hostTools = hostTools;
        this.transfers = transfers;
        this.restore = restore;
        this.configWriter = configWriter;
        this.units = units;
        this.rollback = rollback;
        this.preflight = preflight;
        this.backupDirs = backupDirs;
    }

    // --- read-only ------------------------------------------------------------------------------

    @Override
    public void getStatus(GetStatusRequest request, StreamObserver<AgentStatus> out) {
        rpc.read(out, () -> status());
    }

    @Override
    public void watchStatus(GetStatusRequest request, StreamObserver<AgentStatus> responseObserver) {
        var out = (ServerCallStreamObserver<AgentStatus>) responseObserver;
        AgentStatus first = status();
        Consumer<AgentStatus> listener = change -> {
            synchronized (out) {
                if (!out.isCancelled()) {
                    out.onNext(withHostFacts(change, first));
                }
            }
        };
        out.setOnCancelHandler(() -> rpc.status().removeListener(listener));
        synchronized (out) {
            out.onNext(first);
        }
        rpc.status().addListener(listener);
    }

    @Override
    public void preflight(PreflightRequest request, StreamObserver<PreflightReport> out) {
        // Read-only: the header is checked, but nothing is claimed, audited or moved, so a dry run
        // leaves the host (state_dir included) exactly as it was.
        rpc.inspect(request.hasHeader(), request.getHeader(), out, () -> {
            rpc.failpoints().hit(Failpoints.RPC + "Preflight");
            return preflight.check(request, status());
        });
    }

    /** Listing is read-only; removing needs the claim, so it never runs beside an operation. */
    @Override
    public void cleanup(dev.etcdrescue.proto.v1.CleanupRequest request, StreamObserver<dev.etcdrescue.proto.v1.CleanupReply> out) {
        if (!request.getRemove()) {
            rpc.inspect(request.hasHeader(), request.getHeader(), out,
                    () -> dev.etcdrescue.proto.v1.CleanupReply.newBuilder().addAllLeftovers(leftovers.find()).build());
            return;
        }
        rpc.mutate("Cleanup", request.hasHeader(), request.getHeader(), true, out, () -> {
            var found = leftovers.find();
            return dev.etcdrescue.proto.v1.CleanupReply.newBuilder().addAllLeftovers(found).addAllRemoved(leftovers.remove(found)).build();
        });
    }

    @Override
    public void inspectUnit(InspectUnitRequest request, StreamObserver<UnitState> out) {
        rpc.read(out, () -> units.inspect(request.getUnit()));
    }

    // --- claims ---------------------------------------------------------------------------------

    @Override
    public void claim(ClaimRequest request, StreamObserver<ClaimReply> out) {
        rpc.mutate("Claim", request.hasHeader(), request.getHeader(), false, out, () -> {
            ClaimReply reply = ClaimReply.newBuilder()
                    .setClaim(rpc.claims().claim(request.getHeader(), request.getTtlMs())).build();
            rpc.phases().claimed(request.getHeader().getOperationId());
            return reply;
        });
    }

    @Override
    public void renewClaim(ClaimRequest request, StreamObserver<ClaimReply> out) {
        rpc.mutate("RenewClaim", request.hasHeader(), request.getHeader(), false, out,
                () -> ClaimReply.newBuilder().setClaim(rpc.claims().renew(request.getHeader(), request.getTtlMs())).build());
    }

    @Override
    public void releaseClaim(ReleaseClaimRequest request, StreamObserver<ClaimReply> out) {
        rpc.mutate("ReleaseClaim", request.hasHeader(), request.getHeader(), false, out, () -> {
            ClaimReply reply = ClaimReply.newBuilder().setReleased(rpc.claims().release(request.getHeader())).build();
            rpc.phases().released(request.getHeader().getOperationId());
            return reply;
        });
    }

    // --- transfer -------------------------------------------------------------------------------

    @Override
    public void beginTransfer(BeginTransferRequest request, StreamObserver<TransferState> out) {
        String op = request.getHeader().getOperationId();
        // Read here, on the call's own thread: the work below may run on another one.
        Optional<java.security.cert.X509Certificate> caller =
                Optional.ofNullable(CoordinatorAuthInterceptor.PEER_CERTIFICATE.get());
        rpc.mutate("BeginTransfer", request.hasHeader(), request.getHeader(), true, out, () -> {
            if (!Files.exists(transfers.staging().stagedFile(request.getTransferId()))) {
                rpc.phases().require(op, "BeginTransfer", Phase.RECEIVING, false);
            }
            TransferState state = transfers.begin(request, op, caller);
            if (state.getComplete()) {
                rpc.phases().settle(op, null, Phase.RECEIVED, "BeginTransfer: " + state.getTransferId() + " is already staged");
            }
            return transfers.withDataPort(state);
        });
    }

    @Override
    public StreamObserver<SnapshotChunk> uploadSnapshot(StreamObserver<TransferResult> out) {
        return UploadReceiver.start(transfers, receiving("UploadSnapshot", false), out);
    }

    /**
     * UploadSnapshot's chunks arriving on the data channel (decision 0023) from {@code peer}, whose
     * certificate the channel has checked as the interceptor checks a call's.
     */
    public StreamObserver<SnapshotChunk> uploadFromDataChannel(StreamObserver<TransferResult> out, String peer) {
        return UploadReceiver.start(transfers, receiving("UploadSnapshot", false, peer), out);
    }

    /** RelaySnapshot's chunks arriving on the data channel from the peer agent {@code peer} (its certificate's CN). */
    public StreamObserver<SnapshotChunk> relayFromDataChannel(StreamObserver<TransferResult> out, String peer) {
        return UploadReceiver.startRelayed(transfers, receiving("RelaySnapshot", true, peer), out, peer);
    }

    /** A peer agent forwarding a relay transfer; the interceptor let only OU=agent through, the receiver checks the grant. */
    @Override
    public StreamObserver<SnapshotChunk> relaySnapshot(StreamObserver<TransferResult> out) {
        return UploadReceiver.startRelayed(transfers, receiving("RelaySnapshot", true), out, PeerIdentity.currentCommonName());
    }

    /**
     * @param relayed the header comes from a peer agent, which cannot know this host's name: this agent's
     *                own is used (the grant, signed for this agent's address, already says it is meant here)
     */
    private UploadCallbacks receiving(String rpcName, boolean relayed) {
        return receiving(rpcName, relayed, PeerIdentity.currentCommonName());
    }

    private UploadCallbacks receiving(String rpcName, boolean relayed, String peer) {
        return new UploadCallbacks() {
            @Override
            public OperationHeader admit(OperationHeader header) {
                OperationHeader effective = relayed ? header.toBuilder().setHostName(hostName).build() : header;
                rpc.headers().check(true, effective);
                rpc.claims().requireHeld(effective);
                rpc.phases().begin(effective.getOperationId(), rpcName, Phase.RECEIVING, Phase.RECEIVED, false);
                return effective;
            }

            @Override
            public void progress(OperationHeader header, long received, long expected) {
                rpc.status().bytes(header.getOperationId(), received, expected);
            }

            @Override
            public void finished(OperationHeader header, TransferResult result, Throwable failure) {
                String outcome = failure == null ? "OK" : StatusMapper.describe(failure);
                rpc.record(peer, rpcName, header, outcome);
                if (failure == null) {
                    rpc.phases().succeeded(header.getOperationId(), Phase.RECEIVED,
                            rpcName + " verified " + result.getStagedPath());
                } else {
                    rpc.phases().failed(header.getOperationId(), rpcName + " failed: " + outcome);
                }
            }

            @Override
            public void refused(OperationHeader header, Throwable failure) {
                rpc.record(peer, rpcName, header, StatusMapper.describe(failure));
            }
        };
    }

    @Override
    public void downloadSnapshot(DownloadSnapshotRequest request, StreamObserver<SnapshotChunk> out) {
        String peer = PeerIdentity.currentCommonName();
        try {
            rpc.headers().check(request.hasHeader(), request.getHeader());
            rpc.claims().requireHeld(request.getHeader());
            if (request.getPath().isEmpty() && request.hasLocal() && localSnapshots != null) {
                String what = "DownloadSnapshot local " + request.getLocal().getEndpoint();
                localSnapshots.start(request, out,
                        failure -> rpc.record(peer, what, request.getHeader(), LocalSnapshotSender.outcome(failure)));
                rpc.record(peer, what, request.getHeader(), "STARTED");
                return;
            }
            DownloadSender.start(request, backupDirs, out);
            rpc.record(peer, "DownloadSnapshot " + request.getPath(), request.getHeader(), "STARTED");
        } catch (RuntimeException refused) {
            rpc.record(peer, "DownloadSnapshot", request.getHeader(), StatusMapper.describe(refused));
            out.onError(StatusMapper.toException(refused));
        }
    }

    /**
     * The source host's own snapshot, staged here: RECEIVING while etcdctl runs (its bytes in the status, for
     * the coordinator's progress lines), RECEIVED once the file is checked, as after a received transfer.
     */
    @Override
    public void takeSnapshot(TakeSnapshotRequest request, StreamObserver<TransferResult> out) {
        String op = request.getHeader().getOperationId();
        rpc.mutate("TakeSnapshot", request.hasHeader(), request.getHeader(), true, out, () -> {
            if (!request.getBackupId().isEmpty()) {
                if (backupStaging == null) {
                    throw dev.etcdrescue.agent.AgentException.failedPrecondition("backups are not configured on this host "
                            + "(no backup: in its agent.yaml), so it holds no backup " + request.getBackupId());
                }
                return rpc.phases().run(op, "TakeSnapshot", Phase.RECEIVING, Phase.RECEIVED, false,
                        () -> request.getFromObjectStore() ? backupStaging.stageFromObjectStore(request.getBackupId(), op)
                                : backupStaging.stage(request.getBackupId(), op));
            }
            if (localSnapshots == null) {
                throw dev.etcdrescue.agent.AgentException.unimplemented("this agent takes no snapshot of its member: "
                        + "let the coordinator take it");
            }
            return rpc.phases().run(op, "TakeSnapshot", Phase.RECEIVING, Phase.RECEIVED, false,
                    () -> new SourceSnapshot(localSnapshots, transfers).take(request, op, bytes -> rpc.status().bytes(op, bytes, 0)));
        });
    }

    /** Sends a staged snapshot to the next hops of this agent's grant; the phase stays (this host already holds the file). */
    @Override
    public void sendSnapshot(SendSnapshotRequest request, StreamObserver<SendSnapshotResult> out) {
        rpc.mutate("SendSnapshot", request.hasHeader(), request.getHeader(), true, out,
                () -> new SnapshotSender(transfers).send(request, request.getHeader()));
    }

    // --- mutations ------------------------------------------------------------------------------

    // Each mutation first asks whether it is a repeat whose work is already done (a resumed
    // coordinator, a retry whose reply was lost): a repeat changes nothing and only settles the phase
    // forward; real work moves the phase along PhaseTable, which refuses steps taken out of order.

    @Override
    public void restoreMember(RestoreRequest request, StreamObserver<RestoreResult> out) {
        String op = request.getHeader().getOperationId();
        rpc.mutate("RestoreMember", request.hasHeader(), request.getHeader(), true, out, () -> {
            Optional<RestoreResult> done = restore.completed(request, op);
            if (done.isPresent()) {
                rpc.phases().settle(op, Phase.RESTORING, Phase.RESTORED, "RestoreMember repeated: " + done.get().getDataDir()
                        + " was already restored by this operation and is left as it is");
                return done.get();
            }
            return rpc.phases().run(op, "RestoreMember", Phase.RESTORING, Phase.RESTORED, false,
                    () -> restore.restore(request, op));
        });
    }

    @Override
    public void configureMember(ConfigureRequest request, StreamObserver<ConfigureResult> out) {
        String op = request.getHeader().getOperationId();
        rpc.mutate("ConfigureMember", request.hasHeader(), request.getHeader(), true, out, () -> {
            ConfigWriter.Prepared prepared = configWriter.prepare(request);
            if (configWriter.unchanged(prepared)) {
                rpc.phases().settle(op, null, Phase.CONFIGURED, "ConfigureMember repeated: "
                        + prepared.envFile() + " and " + prepared.unitFile() + " already hold the rendered content");
                return configWriter.write(prepared); // writes nothing: both files already hold their content
            }
            // A member joining a running cluster is configured without a restore: it starts from an empty data dir.
            return rpc.phases().run(op, "ConfigureMember", null, Phase.CONFIGURED,
                    prepared.joinExisting() || SafeFiles.exists(prepared.plan().dataDir()), () -> configWriter.write(prepared));
        });
    }

    @Override
    public void startMember(UnitRequest request, StreamObserver<UnitState> out) {
        String op = request.getHeader().getOperationId();
        rpc.mutate("StartMember", request.hasHeader(), request.getHeader(), true, out, () -> {
            Optional<UnitState> active = units.alreadyActive(request);
            if (active.isPresent()) {
                rpc.phases().settle(op, Phase.STARTING, Phase.STARTED, "StartMember: " + active.get().getUnit()
                        + " is already " + active.get().getActiveState() + ", not started again");
                return active.get();
            }
            return rpc.phases().run(op, "StartMember", Phase.STARTING, Phase.STARTED, false,
                    () -> units.start(request, CallCancellation.current()));
        });
    }

    @Override
    public void stopMember(UnitRequest request, StreamObserver<UnitState> out) {
        // Never refused by phase: stopping is what makes a failed or unverified member safe.
        rpc.mutate("StopMember", request.hasHeader(), request.getHeader(), true, out, () -> units.stop(request));
    }

    @Override
    public void cutOver(CutOverRequest request, StreamObserver<CutOverResult> out) {
        String op = request.getHeader().getOperationId();
        rpc.mutate("CutOver", request.hasHeader(), request.getHeader(), true, out, () -> {
            units.checkNames(request); // a unit outside agent.yaml's units: is refused whatever the phase
            return rpc.phases().run(op, "CutOver", null, Phase.CUT_OVER, false, () -> units.cutOver(request));
        });
    }

    @Override
    public void rollback(RollbackRequest request, StreamObserver<RollbackResult> out) {
        String op = request.getHeader().getOperationId();
        rpc.mutate("Rollback", request.hasHeader(), request.getHeader(), true, out,
                () -> rpc.phases().run(op, "Rollback", Phase.ROLLING_BACK, Phase.ROLLED_BACK, false,
                        () -> rollback.rollback(op, request.getKeepFence())));
    }

    // --- status ---------------------------------------------------------------------------------

    private AgentStatus status() {
        HostTools.Snapshot tools = hostTools.get();
        AgentStatus.Builder status = rpc.status().snapshot().toBuilder()
                .setHostName(hostName)
                .setAgentVersion(AgentVersion.get())
                .setEtcdVersion(tools.etcdVersion().orElse(""));
        tools.restoreTool().ifPresent(t -> status.setRestoreTool(t.toProto()));
        rpc.claims().current().ifPresentOrElse(status::setClaim, status::clearClaim);
        return status.build();
    }

    /** A tracker change carries phase and bytes; the host facts come from the first full status. */
    private AgentStatus withHostFacts(AgentStatus change, AgentStatus facts) {
        AgentStatus.Builder status = change.toBuilder().setHostName(hostName).setAgentVersion(facts.getAgentVersion())
                .setEtcdVersion(facts.getEtcdVersion());
        if (facts.hasRestoreTool()) {
            status.setRestoreTool(facts.getRestoreTool());
        }
        rpc.claims().current().ifPresentOrElse(status::setClaim, status::clearClaim);
        return status.build();
    }
}
