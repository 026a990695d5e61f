package dev.etcdrescue.agent.server;

import dev.etcdrescue.agent.rpc.StatusMapper;
import dev.etcdrescue.pki.Role;
import dev.etcdrescue.pki.SubjectNames;
import dev.etcdrescue.proto.v1.ErrorReason;
import dev.etcdrescue.proto.v1.BackupAgentGrpc;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS has already proven the client certificate comes from the fleet CA; this checks what it is
 * allowed to do: the coordinator role (and, if configured, the coordinator's CN and key, see
 * {@link CallerPolicy}) for every RescueAgent and BackupAgent method, except the two only peers call, with their agent
 * certificates (OU=agent): RelaySnapshot, whose stream then needs a relay grant that the coordinator signed for the
 * transfer (checked on its first message, see {@code transfer.RelayGrants}), and StoreBackupCopy, whose first message
 * must carry a backup manifest the calling agent itself signed (checked by {@code backup.PeerCopies}).
 * A refused call to a mutating method goes to the audit log like any other mutating call: an
 * attempt by the wrong identity is exactly what an operator wants to find there.
 */
public final class CoordinatorAuthInterceptor implements ServerInterceptor {
    private static final Logger log = LoggerFactory.getLogger(CoordinatorAuthInterceptor.class);
    /** The caller's verified certificate: BeginTransfer keeps the coordinator's to check relay grants against. */
    public static final Context.Key<X509Certificate> PEER_CERTIFICATE = Context.key("etcd-rescue-peer-certificate");
    private static final String RELAY = RescueAgentGrpc.getRelaySnapshotMethod().getFullMethodName();
    private static final String COPY = BackupAgentGrpc.getStoreBackupCopyMethod().getFullMethodName();
    /** The only methods an agent's certificate may call; the coordinator's may call every other one, and none of these. */
    private static final Set<String> AGENTS_ONLY = Set.of(RELAY, COPY);
    private static final Set<String> READ_ONLY = Set.of(
            RescueAgentGrpc.getGetStatusMethod().getFullMethodName(),
            RescueAgentGrpc.getWatchStatusMethod().getFullMethodName(),
            RescueAgentGrpc.getPreflightMethod().getFullMethodName(),
            RescueAgentGrpc.getInspectUnitMethod().getFullMethodName(),
            BackupAgentGrpc.getListBackupsMethod().getFullMethodName());

    private final CallerPolicy policy;
    private final AuditLog audit;
    private final RefusalThrottle throttle;

    public CoordinatorAuthInterceptor(CallerPolicy policy, AuditLog audit, Clock clock) {
        this.policy = policy;
        this.audit = audit;
        this.throttle = new RefusalThrottle(clock);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getFullMethodName();
        Optional<X509Certificate> cert = peerCertificate(call);
        Optional<StatusRuntimeException> refusal = refusal(method, cert, call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
        if (refusal.isPresent()) {
            call.close(refusal.get().getStatus(), refusal.get().getTrailers());
            return new ServerCall.Listener<>() {};
        }
        PeerIdentity peer = identity(cert.orElseThrow());
        Context context = Context.current().withValue(PeerIdentity.KEY, peer).withValue(PEER_CERTIFICATE, cert.get());
        return Contexts.interceptCall(context, call, headers, next);
    }

    /**
     * Why a caller with {@code cert} may not call {@code method} (a gRPC method's full name), logged and,
     * for a mutating method, audited; empty when it may. The data channel asks the same for UploadSnapshot.
     */
    public Optional<StatusRuntimeException> refusal(String method, Optional<X509Certificate> cert, Object remote) {
        if (cert.isEmpty()) {
            return Optional.of(refuse(method, remote, "(no certificate)", Status.UNAUTHENTICATED,
                    "no client certificate: the agent requires mutual TLS"));
        }
        PeerIdentity peer = identity(cert.get());
        if (method.equals(RELAY) && peer.role().orElse(null) != Role.AGENT) {
            return Optional.of(refuse(method, remote, peer.commonName(), Status.PERMISSION_DENIED, "certificate " + peer.commonName()
                    + " has role " + peer.role().map(Role::organizationalUnit).orElse("(none)") + "; only peer agents (OU=agent) holding"
                    + " a coordinator's relay grant may call " + method + " (the coordinator uses UploadSnapshot)"));
        }
        if (method.equals(COPY) && peer.role().orElse(null) != Role.AGENT) {
            return Optional.of(refuse(method, remote, peer.commonName(), Status.PERMISSION_DENIED, "certificate " + peer.commonName()
                    + " has role " + peer.role().map(Role::organizationalUnit).orElse("(none)") + "; only peer agents (OU=agent) push"
                    + " copies of the backups they took with " + method));
        }
        // Every other method of every service this guards (RescueAgent, BackupAgent, the data channel) is the coordinator's alone.
        if (!AGENTS_ONLY.contains(method)) {
            if (peer.role().orElse(null) != Role.COORDINATOR) {
                return Optional.of(refuse(method, remote, peer.commonName(), Status.PERMISSION_DENIED, "certificate "
                        + peer.commonName() + " has role " + peer.role().map(Role::organizationalUnit).orElse("(none)")
                        + "; only the coordinator role (OU=coordinator) may call " + method));
            }
            Optional<String> notOurs = policy.coordinatorRefusal(peer.commonName(), cert.get());
            if (notOurs.isPresent()) {
                return Optional.of(refuse(method, remote, peer.commonName(), Status.PERMISSION_DENIED, notOurs.get()));
            }
        }
        Optional<String> revoked = policy.revocation(cert.get());
        if (revoked.isPresent()) {
            return Optional.of(refuse(method, remote, peer.commonName(), Status.PERMISSION_DENIED, revoked.get()));
        }
        return Optional.empty();
    }

    static PeerIdentity identity(X509Certificate cert) {
        return new PeerIdentity(SubjectNames.commonName(cert).orElse("(no CN)"), Role.of(cert));
    }

    private StatusRuntimeException refuse(String method, Object remote, String peer, Status status, String message) {
        log.warn("refused {} from {}: {}", method, remote, message);
        if (!READ_ONLY.contains(method)) {
            try {
                // The request is not read yet, so its header (cluster, operation) is unknown here.
                OptionalLong left = throttle.admit(peer);
                if (left.isPresent()) {
                    audit.record(peer, method.substring(method.lastIndexOf('/') + 1), "", "", status.getCode() + ": " + message
                            + (left.getAsLong() > 0 ? " (" + left.getAsLong() + " more refused calls of this peer not recorded)" : ""));
                }
            } catch (RuntimeException e) {
                log.error("audit log write failed for a refused {}: {}", method, e.getMessage());
            }
        }
        return StatusMapper.toException(status.withDescription(message), ErrorReason.NOT_AUTHORIZED, new Metadata());
    }

    private static Optional<X509Certificate> peerCertificate(ServerCall<?, ?> call) {
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        if (session == null) {
            return Optional.empty();
        }
        try {
            Certificate[] chain = session.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x509 ? Optional.of(x509) : Optional.empty();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }
}
