package dev.etcdrescue.agent.server;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.io.Json;
import dev.etcdrescue.agent.io.SafeFiles;
import dev.etcdrescue.pki.PublicKeyPins;
import dev.etcdrescue.pki.Role;
import dev.etcdrescue.proto.v1.ClaimInfo;
import dev.etcdrescue.proto.v1.ErrorReason;
import dev.etcdrescue.proto.v1.OperationHeader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The agent's single claim: one operation at a time may change this host. Persisted in claim.json
 * (atomically) so a restarted agent keeps refusing a foreign coordinator until the claim expires.
 * The claim is bound to the key of the coordinator that made it: the operation id is shown to every
 * coordinator by GetStatus, so without the binding it would be a bearer token. Relaying agents act
 * under the coordinator's signed grant instead, and are not checked here.
 */
public final class ClaimManager {
    private final Path file;
    private final Clock clock;
    private final Duration maxTtl;
    private final Supplier<Optional<String>> caller;
    private Claim current;

    /** {@code holder}: the SPKI SHA-256 of the claiming coordinator's key; null in claims from older agents. */
    record Claim(@JsonProperty("cluster_name") String clusterName,
                 @JsonProperty("operation_id") String operationId,
                 @JsonProperty("valid_until_unix_ms") long validUntilUnixMs,
                 @JsonProperty("holder_spki_sha256") String holder) {
        ClaimInfo toProto() {
            return ClaimInfo.newBuilder().setClusterName(clusterName).setOperationId(operationId)
                    .setValidUntilUnixMs(validUntilUnixMs).build();
        }
    }

    public ClaimManager(Path file, Clock clock, Duration maxTtl) {
        this(file, clock, maxTtl, ClaimManager::callingCoordinatorKey);
    }

    /** @param caller the calling coordinator's key; empty for a caller that is no coordinator */
    ClaimManager(Path file, Clock clock, Duration maxTtl, Supplier<Optional<String>> caller) {
        this.caller = caller;
        this.file = file;
        this.clock = clock;
        this.maxTtl = maxTtl;
        this.current = load();
    }

    /** Takes the claim if free, expired or already held by the same operation (then it is renewed). */
    public synchronized ClaimInfo claim(OperationHeader header, long ttlMs) {
        Optional<Claim> held = valid();
        if (held.isPresent() && !held.get().operationId().equals(header.getOperationId())) {
            throw heldBy(held.get());
        }
        if (held.isPresent() && !held.get().clusterName().equals(header.getClusterName())) {
            throw AgentException.failedPrecondition(ErrorReason.CLAIMED_BY_OTHER, "operation " + header.getOperationId()
                    + " holds this agent for cluster "
                    + held.get().clusterName() + ", not " + header.getClusterName());
        }
        held.ifPresent(this::requireHolder);
        String holder = held.map(Claim::holder).orElse(caller.get().orElse(null));
        return store(new Claim(header.getClusterName(), header.getOperationId(), validUntil(ttlMs), holder));
    }

    /** Extends the claim of the operation that holds it (also just after expiry, if nobody took it). */
    public synchronized ClaimInfo renew(OperationHeader header, long ttlMs) {
        if (current == null || !current.operationId().equals(header.getOperationId())) {
            Optional<Claim> held = valid();
            if (held.isPresent()) {
                throw heldBy(held.get());
            }
            throw AgentException.failedPrecondition(ErrorReason.NOT_CLAIMED, "operation " + header.getOperationId()
                    + " holds no claim on this agent: call Claim first");
        }
        return claim(header, ttlMs);
    }

    /** Releases the claim held by the header's operation; false when there was none to release. */
    public synchronized boolean release(OperationHeader header) {
        Optional<Claim> held = valid();
        if (held.isPresent() && !held.get().operationId().equals(header.getOperationId())) {
            throw heldBy(held.get());
        }
        if (current == null || !current.operationId().equals(header.getOperationId())) {
            return false;
        }
        held.ifPresent(this::requireHolder);
        current = null;
        try {
            Files.deleteIfExists(file);
            SafeFiles.fsyncDirectory(file.getParent());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + file, e);
        }
        return true;
    }

    /** Refuses unless the header's operation holds a valid claim for the header's cluster. */
    public synchronized void requireHeld(OperationHeader header) {
        Optional<Claim> held = valid();
        if (held.isEmpty()) {
            throw AgentException.failedPrecondition(ErrorReason.NOT_CLAIMED, "operation " + header.getOperationId()
                    + " does not hold this agent's claim" + (current == null ? "" : " (it expired at "
                    + Instant.ofEpochMilli(current.validUntilUnixMs()) + ")") + ": call Claim first");
        }
        if (!held.get().operationId().equals(header.getOperationId())) {
            throw heldBy(held.get());
        }
        if (!held.get().clusterName().equals(header.getClusterName())) {
            throw AgentException.failedPrecondition(ErrorReason.CLAIMED_BY_OTHER, "the claim of operation " + header.getOperationId()
                    + " is for cluster " + held.get().clusterName() + ", the request is for " + header.getClusterName());
        }
        requireHolder(held.get());
    }

    /** The calling coordinator's key (SPKI SHA-256), from the call's verified certificate. */
    static Optional<String> callingCoordinatorKey() {
        PeerIdentity peer = PeerIdentity.KEY.get();
        X509Certificate cert = CoordinatorAuthInterceptor.PEER_CERTIFICATE.get();
        if (peer == null || cert == null || peer.role().orElse(null) != Role.COORDINATOR) {
            return Optional.empty();
        }
        return Optional.of(PublicKeyPins.spkiSha256(cert));
    }

    private void requireHolder(Claim claim) {
        Optional<String> key = caller.get();
        if (claim.holder() != null && key.isPresent() && !claim.holder().equals(key.get())) {
            throw AgentException.permissionDenied(ErrorReason.CLAIMED_BY_OTHER, "operation " + claim.operationId() + " was claimed by the coordinator"
                    + " with key " + claim.holder() + ", not this one (" + key.get() + "): only that coordinator may act"
                    + " under its claim; wait for it to end or expire at " + Instant.ofEpochMilli(claim.validUntilUnixMs()));
        }
    }

    public synchronized Optional<ClaimInfo> current() {
        return valid().map(Claim::toProto);
    }

    private Optional<Claim> valid() {
        return Optional.ofNullable(current).filter(c -> c.validUntilUnixMs() > clock.millis());
    }

    private long validUntil(long ttlMs) {
        if (ttlMs < 0) {
            throw AgentException.invalidArgument("ttl_ms must be >= 0 (0 for the agent's maximum), got " + ttlMs);
        }
        long ttl = ttlMs == 0 ? maxTtl.toMillis() : Math.min(ttlMs, maxTtl.toMillis());
        return clock.millis() + ttl;
    }

    private ClaimInfo store(Claim claim) {
        try {
            Files.createDirectories(file.getParent());
            SafeFiles.writeAtomically(file, Json.strict().writeValueAsString(claim), "rw-------");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot persist the claim in " + file, e);
        }
        current = claim;
        return claim.toProto();
    }

    private Claim load() {
        if (!Files.exists(file)) {
            return null;
        }
        try {
            return Json.strict().readValue(file.toFile(), Claim.class);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the claim file " + file + " (" + e.getMessage()
                    + "); move it aside if it is damaged", e);
        }
    }

    private static AgentException heldBy(Claim claim) {
        return AgentException.failedPrecondition(ErrorReason.CLAIMED_BY_OTHER, "this agent is claimed by operation " + claim.operationId()
                + " of cluster " + claim.clusterName() + " until " + Instant.ofEpochMilli(claim.validUntilUnixMs())
                + ": wait for it to finish or expire, or release it with that operation id");
    }
}
