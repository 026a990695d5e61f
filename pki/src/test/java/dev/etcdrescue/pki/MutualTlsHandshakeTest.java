package dev.etcdrescue.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A real Netty gRPC server on loopback with the agent's TLS context, called with good and bad identities. */
@Timeout(120)
class MutualTlsHandshakeTest {
    private static final Duration RPC_DEADLINE = Duration.ofSeconds(10);

    private final CertificateAuthority fleetCa = CertificateAuthority.create("fleet CA", Duration.ofDays(1));
    private final List<ManagedChannel> channels = new ArrayList<>();
    private Server server;

    @TempDir Path dir;

    @BeforeEach
    void startAgentServer() throws Exception {
        IssuedCertificate agent = fleetCa.issueAgent("agent-0", List.of("127.0.0.1"), Duration.ofHours(1));
        fleetCa.writeTo(dir.resolve("ca.pem"), dir.resolve("ca-key.pem"));
        agent.writeTo(dir.resolve("agent.pem"), dir.resolve("agent-key.pem"));
        server = startServer(TlsContexts.grpcServer(dir.resolve("agent.pem"), dir.resolve("agent-key.pem"), dir.resolve("ca.pem")));
    }

    @AfterEach
    void stopEverything() throws InterruptedException {
        for (ManagedChannel channel : channels) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void coordinatorOfTheFleetCaIsServed() throws Exception {
        fleetCa.issueCoordinator("etcd-rescue-coordinator", Duration.ofHours(1))
                .writeTo(dir.resolve("coordinator.pem"), dir.resolve("coordinator-key.pem"));
        SslContext client = TlsContexts.grpcClient(dir.resolve("coordinator.pem"), dir.resolve("coordinator-key.pem"), dir.resolve("ca.pem"));
        assertThat(check(client, server.getPort())).isEqualTo(ServingStatus.SERVING);
    }

    @Test
    void certificateOfAnotherCaIsRefused() throws Exception {
        CertificateAuthority stranger = CertificateAuthority.create("fleet CA", Duration.ofDays(1));
        IssuedCertificate impostor = stranger.issueCoordinator("etcd-rescue-coordinator", Duration.ofHours(1));
        SslContext client = TlsContexts.grpcClient(impostor, fleetCa.certificate());
        assertThatThrownBy(() -> check(client, server.getPort())).isInstanceOf(StatusRuntimeException.class);
    }

    @Test
    void clientWithoutCertificateIsRefused() throws Exception {
        SslContext client = TlsContexts.grpcClient(null, fleetCa.certificate());
        assertThatThrownBy(() -> check(client, server.getPort())).isInstanceOf(StatusRuntimeException.class);
    }

    @Test
    void expiredClientCertificateIsRefused() throws Exception {
        Instant now = Instant.now();
        IssuedCertificate expired = fleetCa.issue(new CertificateSpec(Role.COORDINATOR, "etcd-rescue-coordinator",
                List.of(), now.minus(Duration.ofDays(2)), now.minus(Duration.ofDays(1))));
        SslContext client = TlsContexts.grpcClient(expired, fleetCa.certificate());
        assertThatThrownBy(() -> check(client, server.getPort())).isInstanceOf(StatusRuntimeException.class);
    }

    /** The coordinator checks the agent's certificate against the address dialled: no host stands in for another. */
    @Test
    void agentCertificateForAnotherAddressIsRefusedByTheClient() throws Exception {
        IssuedCertificate elsewhere = fleetCa.issueAgent("agent-1", List.of("127.0.0.2"), Duration.ofHours(1));
        Server wrongHost = startServer(TlsContexts.grpcServer(elsewhere, fleetCa.certificate()));
        try {
            SslContext client = TlsContexts.grpcClient(
                    fleetCa.issueCoordinator("etcd-rescue-coordinator", Duration.ofHours(1)), fleetCa.certificate());
            assertThatThrownBy(() -> check(client, wrongHost.getPort())).isInstanceOf(StatusRuntimeException.class);
        } finally {
            wrongHost.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** A fleet certificate of another role, with the right SAN, does not pass as the host's agent. */
    @Test
    void aServerCertificateThatIsNoAgentsIsRefusedByTheClient() throws Exception {
        IssuedCertificate member = fleetCa.issueEtcdMember("agent-0", List.of("127.0.0.1"), Duration.ofHours(1));
        Server impostor = startServer(TlsContexts.grpcServer(member, fleetCa.certificate()));
        try {
            SslContext client = TlsContexts.grpcClient(
                    fleetCa.issueCoordinator("etcd-rescue-coordinator", Duration.ofHours(1)), fleetCa.certificate());
            assertThatThrownBy(() -> check(client, impostor.getPort())).isInstanceOf(StatusRuntimeException.class)
                    .rootCause().hasMessageContaining("not agent (OU=agent)");
        } finally {
            impostor.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** The fleet's connections are TLS 1.3 only: a client offering at most 1.2 gets no session. */
    @Test
    void aTls12ClientIsRefused() throws Exception {
        IssuedCertificate coordinator = fleetCa.issueCoordinator("etcd-rescue-coordinator", Duration.ofHours(1));
        SslContext tls12 = io.grpc.netty.GrpcSslContexts.forClient().trustManager(fleetCa.certificate())
                .keyManager(coordinator.privateKey(), coordinator.certificate()).protocols("TLSv1.2").build();
        assertThatThrownBy(() -> check(tls12, server.getPort())).isInstanceOf(StatusRuntimeException.class);
        SslContext tls13 = TlsContexts.grpcClient(coordinator, fleetCa.certificate());
        assertThat(check(tls13, server.getPort())).isEqualTo(ServingStatus.SERVING);
    }

    @Test
    void etcdClientContextLoadsWithAndWithoutAClientCertificate() throws Exception {
        fleetCa.issueCoordinator("c", Duration.ofHours(1)).writeTo(dir.resolve("c.pem"), dir.resolve("c-key.pem"));
        assertThat(TlsContexts.etcdClient(dir.resolve("c.pem"), dir.resolve("c-key.pem"), dir.resolve("ca.pem")).isClient()).isTrue();
        assertThat(TlsContexts.etcdClient(null, null, dir.resolve("ca.pem")).applicationProtocolNegotiator().protocols())
                .contains("h2");
        assertThatThrownBy(() -> TlsContexts.etcdClient(dir.resolve("c.pem"), null, dir.resolve("ca.pem")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static Server startServer(SslContext context) throws Exception {
        HealthStatusManager health = new HealthStatusManager();
        return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .sslContext(context)
                .addService(health.getHealthService())
                .build()
                .start();
    }

    private ServingStatus check(SslContext client, int port) {
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(client).build();
        channels.add(channel);
        return HealthGrpc.newBlockingStub(channel)
                .withDeadlineAfter(RPC_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
                .check(HealthCheckRequest.getDefaultInstance())
                .getStatus();
    }
}
