package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentEndpoint;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.CertificateSpec;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.Role;
import dev.etcdrescue.pki.TlsContexts;
import dev.etcdrescue.proto.v1.ClaimRequest;
import dev.etcdrescue.proto.v1.GetStatusRequest;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.ReleaseClaimRequest;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Who may talk to whom, against agents installed on testbed hosts with install-agent.sh (their
 * agent.yaml names coordinator_cn: etcd-rescue-coordinator). Every refusal sits beside its positive
 * control: the same agent, in the same test, serving the fleet's coordinator certificate.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class AuthMatrixTest {
    private static final Duration SHORT = Duration.ofSeconds(30);
    private static final String AUDIT_LOG = "/var/lib/etcd-rescue-agent/audit.log";
    private Testbed testbed;
    private Path work;
    private Path pki;
    private CertificateAuthority fleet;
    private TestHost a;
    private TestHost b;

    @BeforeAll
    void twoHostsWithInstalledAgents() throws Exception {
        testbed = Testbed.create(2, Testbed.Options.defaults().withHostPrefix("authm"));
        work = Files.createTempDirectory("etcd-rescue-authmatrix-");
        pki = work.resolve("pki");
        testbed.installAgents(pki);
        fleet = CertificateAuthority.load(pki.resolve("ca.pem"), pki.resolve("ca-key.pem"));
        a = testbed.host(0);
        b = testbed.host(1);
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    /** Refused in the TLS handshake: nothing reaches the service, so no RPC of any kind can run. */
    @Test
    @Order(1)
    void clientsWithoutAValidFleetCertificateAreRefusedInTheHandshake() throws Exception {
        Instant now = Instant.now();
        CertificateAuthority foreign = CertificateAuthority.create("another fleet", Duration.ofDays(1));
        Map<String, IssuedCertificate> identities = new LinkedHashMap<>();
        identities.put("no client certificate", null);
        identities.put("coordinator certificate from another CA",
                foreign.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1)));
        identities.put("expired coordinator certificate", fleet.issue(new CertificateSpec(Role.COORDINATOR,
                "etcd-rescue-coordinator", List.of(), now.minus(Duration.ofDays(2)), now.minus(Duration.ofDays(1)))));
        identities.put("coordinator certificate not yet valid", fleet.issue(new CertificateSpec(Role.COORDINATOR,
                "etcd-rescue-coordinator", List.of(), now.plus(Duration.ofDays(1)), now.plus(Duration.ofDays(2)))));
        for (TestHost h : List.of(a, b)) {
            long auditBefore = auditLines(h);
            for (var identity : identities.entrySet()) {
                SslContext tls = TlsContexts.grpcClient(identity.getValue(), fleet.certificate());
                assertThatThrownBy(() -> call(h, tls, stub -> stub.getStatus(GetStatusRequest.getDefaultInstance())))
                        .as("%s on %s: GetStatus", identity.getKey(), h.name())
                        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode())
                                .isIn(Status.Code.UNAVAILABLE, Status.Code.UNKNOWN, Status.Code.INTERNAL));
                assertThatThrownBy(() -> call(h, tls, stub -> stub.claim(claim(h, "authm-tls"))))
                        .as("%s on %s: Claim", identity.getKey(), h.name())
                        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode())
                                .isIn(Status.Code.UNAVAILABLE, Status.Code.UNKNOWN, Status.Code.INTERNAL));
                assertThat(call(h, coordinatorTls(), stub -> stub.getStatus(GetStatusRequest.getDefaultInstance()))
                        .getHostName()).as("positive control after: %s", identity.getKey()).isEqualTo(h.name());
            }
            assertThat(auditLines(h)).as("handshake refusals never reach an RPC on %s", h.name()).isEqualTo(auditBefore);
            assertThat(call(h, coordinatorTls(), stub -> stub.getStatus(GetStatusRequest.getDefaultInstance())).hasClaim())
                    .isFalse();
        }
    }

    /** Refused by the agent's authorization: the fleet CA alone does not make a caller a coordinator. */
    @Test
    @Order(2)
    void fleetCertificatesWithTheWrongRoleOrIdentityAreRefusedAndAudited() throws Exception {
        IssuedCertificate rogueCoordinator = fleet.issueCoordinator("someone-else", Duration.ofDays(1));
        for (TestHost h : List.of(a, b)) {
            TestHost peer = h == a ? b : a;
            SslContext peerAgent = TlsContexts.grpcClient(pki.resolve(peer.name()).resolve("agent.pem"),
                    pki.resolve(peer.name()).resolve("agent-key.pem"), pki.resolve("ca.pem"));
            SslContext rogue = TlsContexts.grpcClient(rogueCoordinator, fleet.certificate());

            for (String rpc : List.of("GetStatus", "Claim")) {
                assertThatThrownBy(() -> call(h, peerAgent, stub -> rpc.equals("Claim")
                        ? stub.claim(claim(h, "authm-role")) : stub.getStatus(GetStatusRequest.getDefaultInstance())))
                        .as("%s's agent certificate calling %s on %s", peer.name(), rpc, h.name())
                        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                            assertThat(e.getStatus().getDescription()).contains(peer.name(), "role agent", "OU=coordinator");
                        });
                assertThatThrownBy(() -> call(h, rogue, stub -> rpc.equals("Claim")
                        ? stub.claim(claim(h, "authm-role")) : stub.getStatus(GetStatusRequest.getDefaultInstance())))
                        .as("coordinator someone-else calling %s on %s", rpc, h.name())
                        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                            assertThat(e.getStatus().getDescription()).contains("someone-else", "tls.coordinator_cn");
                        });
            }
            assertThat(auditText(h)).as("the refused Claim is in the audit log of %s", h.name())
                    .contains("\"peer\":\"" + peer.name() + "\",\"rpc\":\"Claim\"")
                    .contains("\"peer\":\"someone-else\",\"rpc\":\"Claim\"");

            // Positive control: the fleet's coordinator may claim and release the same agent.
            assertThat(call(h, coordinatorTls(), stub -> stub.claim(claim(h, "authm-ok"))).getClaim().getOperationId())
                    .isEqualTo("authm-ok");
            assertThat(call(h, coordinatorTls(), stub -> stub.releaseClaim(ReleaseClaimRequest.newBuilder()
                    .setHeader(header(h, "authm-ok")).build())).getReleased()).isTrue();
        }
    }

    /**
     * The coordinator checks the agent's certificate against the address it dials: a connection to
     * A's address that reaches B's agent (here through a TCP relay on A's address) is refused, while
     * the same relay in front of A's own agent is accepted.
     */
    @Test
    @Order(3)
    void aClientDialingHostAsAddressRefusesHostBsAgent() throws Exception {
        AgentChannels channels = AgentChannels.fromDir(pki);
        try (TcpRelay toB = new TcpRelay(a.address(), 7461, b.address(), 7443);
             TcpRelay toA = new TcpRelay(a.address(), 7462, a.address(), 7443);
             AgentClient impostor = channels.connect(new AgentEndpoint(a.name(), a.address(), 7461));
             AgentClient genuine = channels.connect(new AgentEndpoint(a.name(), a.address(), 7462))) {
            assertThatThrownBy(impostor::status).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                assertThat(causes(e)).containsIgnoringCase("subject alternative name").contains(a.address());
            });
            assertThat(genuine.status().getHostName()).isEqualTo(a.name());

            Path snapshot = work.resolve("any.db");
            Files.write(snapshot, new byte[0]);
            String good = Inventories.seedLike("authm", testbed.hosts(), pki, Inventories.fromFile(snapshot));
            String viaRelay = good.replace("          address: " + a.address() + "\n",
                    "          address: " + a.address() + "\n          agent_endpoint: " + a.address() + ":7461\n");
            String viaGoodRelay = good.replace("          address: " + a.address() + "\n",
                    "          address: " + a.address() + "\n          agent_endpoint: " + a.address() + ":7462\n");
            Cli.Result refused = Cli.etcdRescue("plan", "-i", Inventories.write(work, "relay-b.yaml", viaRelay).toString());
            assertThat(refused.exitCode()).as(refused.all()).isEqualTo(3);
            assertThat(refused.stdout()).contains("HOST " + a.name()).contains("ERROR").contains("certificate");
            Cli.Result accepted = Cli.etcdRescue("plan", "-i", Inventories.write(work, "relay-a.yaml", viaGoodRelay).toString());
            assertThat(accepted.exitCode()).as(accepted.all()).isZero();
            assertThat(accepted.stdout()).doesNotContain("unreachable");
            assertThat(accepted.stdout()).contains("HOST " + a.name() + " (agent " + a.address() + ":7462)")
                    .contains("etcd 3.4.23");
        }
    }

    /** Every mutating RPC leaves an fsynced line (who, what, when, result) that outlives a restart of the agent. */
    @Test
    @Order(4)
    void theAuditLogSurvivesARestartOfTheAgentAndGrowsAfterIt() throws Exception {
        call(a, coordinatorTls(), stub -> stub.claim(claim(a, "authm-audit-1")));
        call(a, coordinatorTls(), stub -> stub.releaseClaim(ReleaseClaimRequest.newBuilder().setHeader(header(a, "authm-audit-1")).build()));
        String before = auditText(a);
        assertThat(before).contains("\"operation\":\"authm-audit-1\"");

        a.systemctl("restart", "etcd-rescue-agent").requireOk();
        long t0 = System.nanoTime();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(
                () -> call(a, coordinatorTls(), stub -> stub.getStatus(GetStatusRequest.getDefaultInstance())).getHostName()
                        .equals(a.name()));
        System.out.printf("agent on %s answered %d ms after systemctl restart returned%n", a.name(),
                (System.nanoTime() - t0) / 1_000_000);
        assertThat(auditText(a)).as("nothing of the audit log is lost on restart").isEqualTo(before);

        call(a, coordinatorTls(), stub -> stub.claim(claim(a, "authm-audit-2")));
        call(a, coordinatorTls(), stub -> stub.releaseClaim(ReleaseClaimRequest.newBuilder().setHeader(header(a, "authm-audit-2")).build()));
        String after = auditText(a);
        assertThat(after).startsWith(before);
        List<String> added = after.substring(before.length()).lines().toList();
        assertThat(added).hasSize(2);
        assertThat(added.get(0)).contains("\"peer\":\"etcd-rescue-coordinator\"", "\"rpc\":\"Claim\"",
                "\"cluster\":\"authm\"", "\"operation\":\"authm-audit-2\"", "\"result\":\"OK\"").containsPattern("\"time\":\"\\d{4}-");
        assertThat(added.get(1)).contains("\"rpc\":\"ReleaseClaim\"", "\"result\":\"OK\"");
    }

    // ---- helpers ----

    private SslContext coordinatorTls() throws IOException {
        return TlsContexts.grpcClient(pki.resolve("coordinator.pem"), pki.resolve("coordinator-key.pem"), pki.resolve("ca.pem"));
    }

    private static OperationHeader header(TestHost h, String op) {
        return OperationHeader.newBuilder().setClusterName("authm").setOperationId(op).setHostName(h.name()).build();
    }

    private static ClaimRequest claim(TestHost h, String op) {
        return ClaimRequest.newBuilder().setHeader(header(h, op)).setTtlMs(60_000).build();
    }

    private interface Call<T> {
        T on(RescueAgentGrpc.RescueAgentBlockingStub stub);
    }

    private static <T> T call(TestHost h, SslContext tls, Call<T> call) throws InterruptedException {
        ManagedChannel channel = NettyChannelBuilder.forAddress(h.address(), 7443).sslContext(tls).build();
        try {
            return call.on(RescueAgentGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS));
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static String auditText(TestHost h) throws IOException {
        Path file = h.hostPath(AUDIT_LOG);
        return Files.exists(file) ? Files.readString(file) : "";
    }

    private static long auditLines(TestHost h) throws IOException {
        return auditText(h).lines().count();
    }

    private static String causes(Throwable t) {
        StringBuilder all = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            all.append(c).append('\n');
        }
        return all.toString();
    }

    /** Forwards every connection accepted on one address to another, byte for byte (no TLS of its own). */
    static final class TcpRelay implements AutoCloseable {
        private final ServerSocket server;
        private final Thread acceptor;

        TcpRelay(String listenHost, int listenPort, String targetHost, int targetPort) throws IOException {
            server = new ServerSocket();
            server.bind(new InetSocketAddress(InetAddress.getByName(listenHost), listenPort));
            acceptor = new Thread(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket in = server.accept();
                        Socket out = new Socket(targetHost, targetPort);
                        pipe(in, out);
                        pipe(out, in);
                    } catch (IOException closed) {
                        return;
                    }
                }
            }, "relay-" + listenPort);
            acceptor.setDaemon(true);
            acceptor.start();
        }

        private static void pipe(Socket from, Socket to) {
            Thread t = new Thread(() -> {
                try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                    in.transferTo(out);
                } catch (IOException ignored) {
                    // One side closed: close both below.
                } finally {
                    try {
                        from.close();
                        to.close();
                    } catch (IOException ignored) {
                        // Already closed.
                    }
                }
            });
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
