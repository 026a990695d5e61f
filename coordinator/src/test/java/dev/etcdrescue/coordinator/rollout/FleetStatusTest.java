package dev.etcdrescue.coordinator.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.inventory.InventoryLoader;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.TlsContexts;
import dev.etcdrescue.proto.v1.AgentStatus;
import dev.etcdrescue.proto.v1.ClaimInfo;
import dev.etcdrescue.proto.v1.GetStatusRequest;
import dev.etcdrescue.proto.v1.Phase;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import dev.etcdrescue.proto.v1.RestoreTool;
import dev.etcdrescue.proto.v1.ToolInfo;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The status probe against an in-process agent over real mTLS, beside an address where nothing listens. */
@Timeout(60)
class FleetStatusTest {
    private static final Instant CLAIM_END = Instant.parse("2030-01-01T10:00:00Z");
    @TempDir Path tmp;
    private Server server;
    private Path inventory;
    private String answerAs = "node-a";

    @BeforeEach
    void agentAndInventory() throws Exception {
        Path tls = tmp.resolve("pki");
        Files.createDirectories(tls);
        CertificateAuthority ca = CertificateAuthority.create("status-test", Duration.ofHours(1));
        ca.writeTo(tls.resolve("ca.pem"), tls.resolve("ca-key.pem"));
        ca.issueCoordinator("etcd-rescue-coordinator", Duration.ofHours(1))
                .writeTo(tls.resolve("coordinator.pem"), tls.resolve("coordinator-key.pem"));
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .sslContext(TlsContexts.grpcServer(ca.issueAgent("node-a", List.of("127.0.0.1"), Duration.ofHours(1)), ca.certificate()))
                .addService(new RescueAgentGrpc.RescueAgentImplBase() {
                    @Override
                    public void getStatus(GetStatusRequest request, StreamObserver<AgentStatus> reply) {
                        reply.onNext(AgentStatus.newBuilder().setHostName(answerAs).setAgentVersion("9.9.9").setEtcdVersion("3.5.16")
                                .setRestoreTool(ToolInfo.newBuilder().setKind(RestoreTool.ETCDUTL).setPath("/usr/bin/etcdutl")
                                        .setVersion("3.5.16").setSupportsBumpRevision(true))
                                .setClaim(ClaimInfo.newBuilder().setClusterName("c").setOperationId("rescue-x")
                                        .setValidUntilUnixMs(CLAIM_END.toEpochMilli()))
                                .setPhase(Phase.RECEIVING).setBytesReceived(10).setBytesExpected(40)
                                .setLastResult("receiving the snapshot").build());
                        reply.onCompleted();
                    }
                }).build().start();
        int dead;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            dead = s.getLocalPort();
        }
        inventory = Files.writeString(tmp.resolve("inventory.yaml"), """
                all:
                  vars:
                    tls_dir: %s
                    snapshot_file: %s
                    cluster_token: c-restored
                  children:
                    c:
                      vars:
                        cluster_token: c-restored
                      hosts:
                        node-a:
                          address: 127.0.0.1
                          agent_port: %d
                        node-b:
                          address: 127.0.0.2
                          agent_port: %d
                """.formatted(tls, tmp.resolve("backup.db"), server.getPort(), dead));
    }

    @AfterEach
    void stop() throws InterruptedException {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private List<HostStatus> probe() throws InterruptedException {
        return new FleetStatus(AgentChannels::fromDir, Duration.ofSeconds(20)).probe(InventoryLoader.load(inventory).clusters());
    }

    @Test
    void aReachableAgentIsARowOfWhatItSaysAndADeadPortARowWithTheReason() throws Exception {
        List<HostStatus> rows = probe();
        assertThat(rows).extracting(HostStatus::host).containsExactly("node-a", "node-b");
        HostStatus a = rows.get(0);
        assertThat(a.ok()).isTrue();
        assertThat(a.agentVersion()).isEqualTo("9.9.9");
        assertThat(a.etcdVersion()).isEqualTo("3.5.16");
        assertThat(a.restoreTool()).isEqualTo(new HostStatus.RestoreTool("etcdutl", "/usr/bin/etcdutl", "3.5.16", true));
        assertThat(a.claim()).isEqualTo(new HostStatus.Claim("c", "rescue-x", CLAIM_END));
        assertThat(a.phase()).isEqualTo("RECEIVING");
        assertThat(a.bytesReceived()).isEqualTo(10);
        HostStatus b = rows.get(1);
        assertThat(b.reachable()).isFalse();
        assertThat(b.error()).as("the same words as recover's for an agent it cannot reach")
                .contains("unreachable", "Connection refused", "is etcd-rescue-agent running there");
    }

    @Test
    void anAgentAnsweringUnderAnotherNameIsNotOk() throws Exception {
        answerAs = "node-z";
        HostStatus a = probe().get(0);
        assertThat(a.reachable()).isTrue();
        assertThat(a.ok()).isFalse();
        assertThat(a.error()).contains("answers as 'node-z', not 'node-a'");
    }
}
