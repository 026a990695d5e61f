package dev.etcdrescue.coordinator.engine;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.snapshotformat.bolt.BoltSnapshot;
import dev.etcdrescue.snapshotformat.bolt.SnapshotInfo;
import dev.etcdrescue.proto.v1.*;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An agent for the engine's fast tests: answers every call the recovery makes the way the real agent's
 * contract says (claims bind the operation, a transfer's SHA-256 and trailer are computed from the bytes
 * received, snapshot status is read from them with the coordinator's bbolt reader), and records each call
 * in one log shared by all fake hosts, so that a test sees the order across hosts. A test scripts a
 * failure for the next call of an RPC. Nothing is restored or started: the unit states are this object's.
 */
final class FakeAgent extends RescueAgentGrpc.RescueAgentImplBase {
    /** One call, in the order the calls arrived at all fake hosts; {@code unit} for the unit calls. */
    record Call(String host, String rpc, String operationId, String unit) {}

    private final String hostName;
    private final List<Call> log;
    private final Path dir;
    private final Map<String, Deque<StatusRuntimeException>> failures = new ConcurrentHashMap<>();
    private final Map<String, TransferResult> staged = new ConcurrentHashMap<>();
    private final Map<String, String> units = new ConcurrentHashMap<>();
    private final List<PortCheck> ports = new ArrayList<>();
    private final List<Finding> findings = new ArrayList<>();
    private volatile String claimedBy = "";

    private final String oldUnit;

    /** @param oldUnit the old member's unit, active until stopped */
    FakeAgent(String hostName, String oldUnit, List<Call> log, Path dir) {
        this.hostName = hostName;
        this.oldUnit = oldUnit;
        this.log = log;
        this.dir = dir;
        units.put(oldUnit, "active");
    }

    /** The next call of {@code rpc} fails with an answer as the agent gives it: a status code and an ErrorReason. */
    FakeAgent failNext(String rpc, Status.Code code, ErrorReason reason, String message) {
        failures.computeIfAbsent(rpc, r -> new ArrayDeque<>()).add(StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
                .setCode(code.value()).setMessage(message)
                .addDetails(Any.pack(ErrorInfo.newBuilder().setDomain(AgentError.DOMAIN).setReason(reason.name()).build())).build()));
        return this;
    }

    FakeAgent finding(Severity severity, String code, String message) {
        findings.add(Finding.newBuilder().setSeverity(severity).setCode(code).setMessage(message).build());
        return this;
    }

    /** The old member holds this port on the host (a restore in place). */
    FakeAgent oldMemberHolds(String address, int port) {
        ports.add(PortCheck.newBuilder().setAddress(address).setPort(port).setHeldByOldMember(true).setHolderPid(4242).build());
        return this;
    }

    String unitState(String unit) {
        return units.getOrDefault(unit, "inactive");
    }

    /** Records the call, checks the claim where the real agent does, and throws a scripted failure. */
    private void called(String rpc, OperationHeader header, boolean needsClaim) {
        called(rpc, header, needsClaim, "");
    }

    private void called(String rpc, OperationHeader header, boolean needsClaim, String unit) {
        log.add(new Call(hostName, rpc, header == null ? "" : header.getOperationId(), unit));
        Deque<StatusRuntimeException> scripted = failures.get(rpc);
        StatusRuntimeException next = scripted == null ? null : scripted.poll();
        if (next != null) {
            throw next;
        }
        if (header != null && !header.getHostName().equals(hostName)) {
            throw failure(Status.Code.FAILED_PRECONDITION, ErrorReason.WRONG_HOST, "this is " + hostName);
        }
        if (needsClaim && !header.getOperationId().equals(claimedBy)) {
            throw failure(Status.Code.FAILED_PRECONDITION, ErrorReason.NOT_CLAIMED, "not claimed by " + header.getOperationId());
        }
    }

    private static StatusRuntimeException failure(Status.Code code, ErrorReason reason, String message) {
        return StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder().setCode(code.value()).setMessage(message)
                .addDetails(Any.pack(ErrorInfo.newBuilder().setDomain(AgentError.DOMAIN).setReason(reason.name()).build())).build());
    }

    private <T> void answer(StreamObserver<T> out, String rpc, OperationHeader header, boolean needsClaim,
                            java.util.function.Supplier<T> reply) {
        answer(out, rpc, header, needsClaim, "", reply);
    }

    private <T> void answer(StreamObserver<T> out, String rpc, OperationHeader header, boolean needsClaim, String unit,
                            java.util.function.Supplier<T> reply) {
        try {
            called(rpc, header, needsClaim, unit);
            out.onNext(reply.get());
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        }
    }

    private AgentStatus status() {
        ToolInfo tool = ToolInfo.newBuilder().setKind(RestoreTool.ETCDCTL).setPath("/usr/bin/etcdctl").setVersion("3.4.23")
                .setSupportsSkipHashCheck(true).build();
        AgentStatus.Builder s = AgentStatus.newBuilder().setHostName(hostName).setEtcdVersion("3.4.23").setRestoreTool(tool);
        if (!claimedBy.isEmpty()) {
            s.setClaim(ClaimInfo.newBuilder().setOperationId(claimedBy));
        }
        return s.build();
    }

    @Override
    public void getStatus(GetStatusRequest request, StreamObserver<AgentStatus> out) {
        answer(out, "GetStatus", null, false, this::status);
    }

    @Override
    public void claim(ClaimRequest request, StreamObserver<ClaimReply> out) {
        answer(out, "Claim", request.getHeader(), false, () -> {
            String op = request.getHeader().getOperationId();
            if (!claimedBy.isEmpty() && !claimedBy.equals(op)) {
                throw failure(Status.Code.FAILED_PRECONDITION, ErrorReason.CLAIMED_BY_OTHER, "claimed by " + claimedBy);
            }
            claimedBy = op;
            return ClaimReply.newBuilder().setClaim(ClaimInfo.newBuilder().setOperationId(op)).build();
        });
    }

    @Override
    public void renewClaim(ClaimRequest request, StreamObserver<ClaimReply> out) {
        answer(out, "RenewClaim", request.getHeader(), true, () -> ClaimReply.getDefaultInstance());
    }

    @Override
    public void releaseClaim(ReleaseClaimRequest request, StreamObserver<ClaimReply> out) {
        answer(out, "ReleaseClaim", request.getHeader(), true, () -> {
            claimedBy = "";
            return ClaimReply.newBuilder().setReleased(true).build();
        });
    }

    @Override
    public void preflight(PreflightRequest request, StreamObserver<PreflightReport> out) {
        answer(out, "Preflight", request.getHeader(), true, () -> PreflightReport.newBuilder().setStatus(status())
                .setFreeBytesDataDir(10L << 30).setFreeBytesStaging(10L << 30).addAllPorts(ports).addAllFindings(findings).build());
    }

    @Override
    public void inspectUnit(InspectUnitRequest request, StreamObserver<UnitState> out) {
        answer(out, "InspectUnit", null, false, () -> unit(request.getUnit()));
    }

    private UnitState unit(String name) {
        return UnitState.newBuilder().setUnit(name).setExists(true).setActiveState(unitState(name)).build();
    }

    @Override
    public void beginTransfer(BeginTransferRequest request, StreamObserver<TransferState> out) {
        answer(out, "BeginTransfer", request.getHeader(), true, () -> {
            TransferResult done = staged.get(request.getTransferId());
            TransferState.Builder s = TransferState.newBuilder().setTransferId(request.getTransferId());
            return done == null ? s.build() : s.setComplete(true).setSha256(done.getSha256()).setResult(done).build();
        });
    }

    @Override
    public StreamObserver<SnapshotChunk> uploadSnapshot(StreamObserver<TransferResult> out) {
        return new StreamObserver<>() {
            private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            private String transferId;
            private boolean failed;

            @Override
            public void onNext(SnapshotChunk chunk) {
                if (failed) {
                    return;
                }
                try {
                    if (chunk.hasHeader()) {
                        transferId = chunk.getTransferId();
                        called("UploadSnapshot", chunk.getHeader(), true);
                    }
                    chunk.getData().writeTo(bytes);
                } catch (StatusRuntimeException e) {
                    failed = true;
                    out.onError(e);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }

            @Override
            public void onError(Throwable t) {
                failed = true;
            }

            @Override
            public void onCompleted() {
                if (failed) {
                    return;
                }
                try {
                    TransferResult result = stage(transferId, bytes.toByteArray());
                    out.onNext(result);
                    out.onCompleted();
                } catch (IOException e) {
                    out.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
                }
            }
        };
    }

    /** What the real agent reports for a received file: its SHA-256, whether its trailer holds, etcd's status of it. */
    private TransferResult stage(String transferId, byte[] content) throws IOException {
        SnapshotDigest digest = new SnapshotDigest();
        digest.update(content, 0, content.length);
        Path file = Files.write(dir.resolve(hostName + "-" + transferId + ".db"), content);
        SnapshotInfo info = BoltSnapshot.read(file);
        TransferResult result = TransferResult.newBuilder().setTransferId(transferId).setSize(content.length).setSha256(digest.hex())
                .setStagedPath(file.toString()).setHasHashTrailer(digest.trailer() == SnapshotDigest.Trailer.VALID)
                .setSnapshotStatus(SnapshotStatus.newBuilder().setRevision(info.revision()).setTotalKeys(info.totalKeys())).build();
        staged.put(transferId, result);
        return result;
    }

    @Override
    public void restoreMember(RestoreRequest request, StreamObserver<RestoreResult> out) {
        answer(out, "RestoreMember", request.getHeader(), true, () -> {
            if (!staged.containsKey(request.getTransferId())) {
                throw failure(Status.Code.FAILED_PRECONDITION, ErrorReason.NOT_STAGED, "nothing staged as " + request.getTransferId());
            }
            return RestoreResult.newBuilder().setDataDir(request.getMember().getDataDir()).setOwner("etcd").build();
        });
    }

    @Override
    public void configureMember(ConfigureRequest request, StreamObserver<ConfigureResult> out) {
        answer(out, "ConfigureMember", request.getHeader(), true, () -> ConfigureResult.newBuilder()
                .setEnvFile("/etc/default/" + request.getNewUnit().replace(".service", ""))
                .setUnitFile("/etc/systemd/system/" + request.getNewUnit()).build());
    }

    @Override
    public void startMember(UnitRequest request, StreamObserver<UnitState> out) {
        answer(out, "StartMember", request.getHeader(), true, request.getUnit(), () -> {
            units.put(request.getUnit(), "active");
            return unit(request.getUnit());
        });
    }

    @Override
    public void stopMember(UnitRequest request, StreamObserver<UnitState> out) {
        answer(out, "StopMember", request.getHeader(), true, request.getUnit(), () -> {
            units.put(request.getUnit(), "inactive");
            return unit(request.getUnit());
        });
    }

    @Override
    public void rollback(RollbackRequest request, StreamObserver<RollbackResult> out) {
        answer(out, "Rollback", request.getHeader(), true, () -> {
            units.replaceAll((unit, state) -> unit.equals(oldUnit) ? "active" : "inactive");
            return RollbackResult.newBuilder().addActions("started " + oldUnit + " again").build();
        });
    }
}
