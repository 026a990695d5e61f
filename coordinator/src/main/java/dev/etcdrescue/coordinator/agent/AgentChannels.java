package dev.etcdrescue.coordinator.agent;

import dev.etcdrescue.coordinator.UserException;
import dev.etcdrescue.coordinator.cli.ExitCodes;
import dev.etcdrescue.pki.TlsContexts;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Opens mTLS channels to agents with the coordinator's certificate. Netty checks the agent's
 * certificate against the address dialled (SAN), so one host cannot answer for another.
 */
public final class AgentChannels {
    private static final int MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
    private final SslContext sslContext;

    private AgentChannels(SslContext sslContext) {
        this.sslContext = sslContext;
    }

    /** Loads ca.pem, coordinator.pem and coordinator-key.pem from {@code tlsDir}. */
    public static AgentChannels fromDir(Path tlsDir) {
        Path ca = tlsDir.resolve("ca.pem");
        Path cert = tlsDir.resolve("coordinator.pem");
        Path key = tlsDir.resolve("coordinator-key.pem");
        for (Path p : new Path[] {ca, cert, key}) {
            if (!Files.isReadable(p)) {
                throw new UserException(ExitCodes.USAGE, "coordinator TLS file " + p + " is missing or unreadable: "
                        + "create the fleet PKI with 'etcd-rescue pki init --dir " + tlsDir + "' or set tls_dir in the inventory");
            }
        }
        try {
            return new AgentChannels(TlsContexts.grpcClient(cert, key, ca));
        } catch (Exception e) {
            throw new UserException(ExitCodes.USAGE, "cannot load the coordinator's TLS files from " + tlsDir + ": " + e.getMessage(), e);
        }
    }

    public AgentClient connect(AgentEndpoint endpoint) {
        ManagedChannel channel = NettyChannelBuilder.forAddress(endpoint.host(), endpoint.port())
                .sslContext(sslContext)
                .maxInboundMessageSize(MAX_MESSAGE_BYTES)
                // Short keepalive so a host that silently drops packets fails the call instead of hanging it.
                .keepAliveTime(20, TimeUnit.SECONDS)
                .keepAliveTimeout(10, TimeUnit.SECONDS)
                .build();
        return new AgentClient(endpoint, channel, Duration.ofSeconds(30));
    }
}
