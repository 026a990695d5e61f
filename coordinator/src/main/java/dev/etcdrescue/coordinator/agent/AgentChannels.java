package dev.etcdrescue.coordinator.agent;

import com.google.protobuf.ByteString;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.pki.Pem;
import dev.etcdrescue.pki.RelayGrantSignature;
import dev.etcdrescue.pki.TlsContexts;
import dev.etcdrescue.proto.v1.RelayGrant;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.ChannelOption;
import io.netty.handler.ssl.SslContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

/**
 * Opens mTLS channels to agents with the coordinator's certificate: the only place the coordinator
 * builds a channel (LayeringTest), so every command dials agents with the same TLS, keepalive and
 * message limit. Netty checks the agent's certificate against the address dialled (SAN), so one host
 * cannot answer for another.
 */
public final class AgentChannels {
    private static final int MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
    /** A TLS handshake to an agent on a live host takes milliseconds; 5 s is far above any healthy network's SYN round trip. */
    public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    private final BiFunction<AgentEndpoint, ClientInterceptor, ManagedChannel> dialer;
    /** The coordinator's TLS key, which also signs relay grants (the agents check them against its certificate). */
    private final PrivateKey key;
    private final WireBytes wire = new WireBytes();
    /** The TLS of the agents' data channels (decision 0023); null where there is none (in-process tests). */
    private final SslContext dataTls;

    /**
     * @param dialer opens the channel to one agent, with the interceptor that counts its bytes: mTLS over Netty in
     *     production, in-process in the engine's fast tests
     */
    AgentChannels(BiFunction<AgentEndpoint, ClientInterceptor, ManagedChannel> dialer, SslContext dataTls, PrivateKey key) {
        this.dialer = dialer;
        this.dataTls = dataTls;
        this.key = key;
    }

    /** Loads ca.pem, coordinator.pem and coordinator-key.pem from {@code tlsDir}. */
    public static AgentChannels fromDir(Path tlsDir) {
        Path ca = tlsDir.resolve("ca.pem");
        Path cert = tlsDir.resolve("coordinator.pem");
        Path key = tlsDir.resolve("coordinator-key.pem");
        for (Path p : new Path[] {ca, cert, key}) {
            if (!Files.isReadable(p)) {
                throw new UserException(FailureKind.BAD_INPUT, "coordinator TLS file " + p + " is missing or unreadable: "
                        + "create the fleet PKI with 'etcd-rescue pki init --dir " + tlsDir + "' or set tls_dir in the inventory");
            }
        }
        requirePrivate(key);
        try {
            SslContext tls = TlsContexts.grpcClient(cert, key, ca);
            return new AgentChannels((endpoint, counting) -> NettyChannelBuilder.forAddress(endpoint.host(), endpoint.port())
                    .intercept(counting)
                    .sslContext(tls)
                    .maxInboundMessageSize(MAX_MESSAGE_BYTES)
                    // Short keepalive so a host that silently drops packets fails the call instead of hanging it.
                    .keepAliveTime(20, TimeUnit.SECONDS)
                    .keepAliveTimeout(10, TimeUnit.SECONDS)
                    // An agent whose SYNs are dropped (host down, firewall) fails the call after CONNECT_TIMEOUT with
                    // "unreachable", not after the call's 30 s deadline with "did not answer in time" (decision 0026).
                    .withOption(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) CONNECT_TIMEOUT.toMillis())
                    .build(), tls, Pem.readPrivateKey(key));
        } catch (Exception e) {
            throw new UserException(FailureKind.BAD_INPUT, "cannot load the coordinator's TLS files from " + tlsDir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Refuses a coordinator key that group or others may read, as ssh does for its keys: whoever reads
     * it holds the coordinator's access to every etcd host until the certificate expires.
     */
    private static void requirePrivate(Path key) {
        try {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(key);
            if (mode.stream().anyMatch(p -> p.name().startsWith("GROUP_") || p.name().startsWith("OTHERS_"))) {
                throw new UserException(FailureKind.BAD_INPUT, "the coordinator key " + key + " is readable by others (mode "
                        + PosixFilePermissions.toString(mode) + "): chmod 600 " + key);
            }
        } catch (UnsupportedOperationException | java.io.IOException e) {
            // No POSIX modes to check (another file system), or unreadable: loading it says why.
        }
    }

    /**
     * A grant, signed with the coordinator's key, for the agent {@code holder} (its certificate's CN, the
     * inventory host name) whose next hops are {@code nextHops}.
     */
    public RelayGrant grant(String transferId, String operationId, String holder, List<String> nextHops, Instant validUntil) {
        return grant(transferId, operationId, holder, nextHops, validUntil, false, "");
    }

    /**
     * A grant for a fan-out from the snapshot's source ({@code fanOut}: the holder sends to every hop itself), or
     * for an agent that receives from one ({@code upstream}: the only agent it may take the transfer from).
     */
    public RelayGrant grant(String transferId, String operationId, String holder, List<String> nextHops, Instant validUntil,
                            boolean fanOut, String upstream) {
        byte[] payload = RelayGrantSignature.payload(transferId, operationId, holder, nextHops, validUntil.toEpochMilli(), fanOut,
                upstream);
        return RelayGrant.newBuilder().setTransferId(transferId).setOperationId(operationId).setHolder(holder)
                .addAllNextHops(nextHops).setFanOut(fanOut).setUpstream(upstream)
                .setValidUntilUnixMs(validUntil.toEpochMilli())
                .setSignature(ByteString.copyFrom(RelayGrantSignature.sign(key, payload))).build();
    }

    /** What every channel opened here has sent and received so far. */
    public WireBytes wire() {
        return wire;
    }

    public AgentClient connect(AgentEndpoint endpoint) {
        return new AgentClient(endpoint, dialer.apply(endpoint, wire.interceptor()), Duration.ofSeconds(30), dataTls, wire);
    }
}
