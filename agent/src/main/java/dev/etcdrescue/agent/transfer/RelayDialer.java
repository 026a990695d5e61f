package dev.etcdrescue.agent.transfer;

import dev.etcdrescue.agent.config.TlsConfig;
import dev.etcdrescue.pki.TlsContexts;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.ChannelOption;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Opens the channel to the next agent of a relay chain with this agent's own certificate. As the
 * coordinator's channels do, gRPC checks the next agent's certificate against the address dialled
 * (its SAN), so a relay only ever reaches the host the grant names.
 */
public final class RelayDialer {
    /** As the coordinator's (decision 0026): a next hop whose SYNs are dropped is named after 5 s, not Netty's 30. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    private final TlsConfig tls;
    private SslContext context;

    public RelayDialer(TlsConfig tls) {
        this.tls = tls;
    }

    /** @param endpoint host:port, or [v6]:port */
    public ManagedChannel dial(String endpoint) throws IOException {
        int colon = endpoint.lastIndexOf(':');
        if (colon <= 0) {
            throw new IOException("next hop " + endpoint + " is not host:port");
        }
        String host = endpoint.substring(0, colon).replace("[", "").replace("]", "");
        int port = Integer.parseInt(endpoint.substring(colon + 1));
        return NettyChannelBuilder.forAddress(host, port)
                .sslContext(sslContext())
                .keepAliveTime(20, TimeUnit.SECONDS)
                .keepAliveTimeout(10, TimeUnit.SECONDS)
                .withOption(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) CONNECT_TIMEOUT.toMillis())
                .build();
    }

    /** This agent's client context: its certificate, the fleet CA, the checks of an agent's certificate. */
    synchronized SslContext sslContext() throws IOException {
        if (context == null) {
            context = TlsContexts.grpcClient(tls.cert(), tls.key(), tls.ca());
        }
        return context;
    }
}
