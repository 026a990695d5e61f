package dev.etcdrescue.agent.it;

import org.junit.jupiter.api.Tag;
import static dev.etcdrescue.agent.testing.AgentFixture.header;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.pki.CertificateSpec;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.Role;
import dev.etcdrescue.pki.TlsContexts;
import dev.etcdrescue.proto.v1.AgentStatus;
import dev.etcdrescue.proto.v1.ClaimRequest;
import dev.etcdrescue.proto.v1.GetStatusRequest;
import dev.etcdrescue.proto.v1.Phase;
import dev.etcdrescue.proto.v1.BackupAgentGrpc;
import dev.etcdrescue.proto.v1.ListBackupsRequest;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import dev.etcdrescue.proto.v1.TakeBackupRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Function;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import static org.awaitility.Awaitility.await;

/** Who may call the agent: real mTLS, certificates made with the pki module. */
@Tag("etcd")
@Timeout(60)
class AuthTest {
    @TempDir
    Path tmp;

    @Test
    void onlyTheFleetsCoordinatorIsServed() throws Exception {
        try (AgentFixture agent = new AgentFixture(tmp)) {
            AgentStatus status = agent.coordinator().getStatus(GetStatusRequest.getDefaultInstance());
            assertThat(status.getHostName()).isEqualTo(AgentFixture.HOST);
            assertThat(status.getEtcdVersion()).isEqualTo("3.4.23");
            assertThat(status.getRestoreTool().getVersion()).isEqualTo("3.4.23");
            assertThat(status.getRestoreTool().getSupportsBumpRevision()).isFalse();

            IssuedCertificate foreignCoordinator = agent.certs.foreign.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1));
            var foreign = RescueAgentGrpc.newBlockingStub(agent.channel(TlsContexts.grpcClient(foreignCoordinator,
                    agent.certs.fleet.certificate()))).withDeadlineAfter(10, TimeUnit.SECONDS);
            assertThatThrownBy(() -> foreign.getStatus(GetStatusRequest.getDefaultInstance()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isIn(Status.Code.UNAVAILABLE, Status.Code.UNKNOWN,
                                    Status.Code.INTERNAL));

            IssuedCertificate peerAgent = agent.certs.fleet.issueAgent("test-host-1", List.of("127.0.0.1"), Duration.ofDays(1));
            assertThatThrownBy(() -> agent.as(peerAgent).claim(ClaimRequest.newBuilder().setHeader(header("op-1")).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                        assertThat(e.getStatus().getDescription()).contains("test-host-1", "role agent", "OU=coordinator");
                    });
            assertThat(agent.coordinator().getStatus(GetStatusRequest.getDefaultInstance()).hasClaim()).isFalse();
        }
    }

    @Test
    void backupsAnswerTheCoordinatorAloneAndSayWhenTheyAreNotConfigured() throws Exception {
        try (AgentFixture agent = new AgentFixture(tmp)) {
            var asCoordinator = BackupAgentGrpc.newBlockingStub(agent.channel(TlsContexts.grpcClient(agent.certs.coordinator,
                    agent.certs.fleet.certificate()))).withDeadlineAfter(10, TimeUnit.SECONDS);
            assertThat(asCoordinator.listBackups(ListBackupsRequest.getDefaultInstance()).getConfigured()).isFalse();
            assertThatThrownBy(() -> asCoordinator.takeBackup(TakeBackupRequest.getDefaultInstance()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                        assertThat(e.getStatus().getDescription()).contains("add backup: to agent.yaml");
                    });

            IssuedCertificate peerAgent = agent.certs.fleet.issueAgent("test-host-1", List.of("127.0.0.1"), Duration.ofDays(1));
            var asPeer = BackupAgentGrpc.newBlockingStub(agent.channel(TlsContexts.grpcClient(peerAgent,
                    agent.certs.fleet.certificate()))).withDeadlineAfter(10, TimeUnit.SECONDS);
            for (Runnable call : List.<Runnable>of(() -> asPeer.listBackups(ListBackupsRequest.getDefaultInstance()),
                    () -> asPeer.takeBackup(TakeBackupRequest.getDefaultInstance()))) {
                assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                    assertThat(e.getStatus().getDescription()).contains("role agent", "OU=coordinator");
                });
            }
        }
    }

    @Test
    void aConfiguredCoordinatorCnRefusesOtherCoordinators() throws Exception {
        try (AgentFixture agent = new AgentFixture(tmp, "coordinator_cn: etcd-rescue-coordinator")) {
            IssuedCertificate rogue = agent.certs.fleet.issueCoordinator("someone-else", Duration.ofDays(1));

            assertThatThrownBy(() -> agent.as(rogue).getStatus(GetStatusRequest.getDefaultInstance()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                        assertThat(e.getStatus().getDescription()).contains("someone-else", "tls.coordinator_cn");
                    });
            assertThat(agent.coordinator().getStatus(GetStatusRequest.getDefaultInstance()).getHostName())
                    .isEqualTo(AgentFixture.HOST);
        }
    }

    /** Identities the TLS handshake itself refuses: no RPC of any kind reaches the service. */
    enum HandshakeRefusal {
        NO_CLIENT_CERTIFICATE(certs -> null),
        ANOTHER_CA(certs -> certs.foreign.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1))),
        EXPIRED(certs -> certs.fleet.issue(new CertificateSpec(Role.COORDINATOR, "etcd-rescue-coordinator", List.of(),
                Instant.now().minus(Duration.ofDays(2)), Instant.now().minus(Duration.ofDays(1))))),
        NOT_YET_VALID(certs -> certs.fleet.issue(new CertificateSpec(Role.COORDINATOR, "etcd-rescue-coordinator", List.of(),
                Instant.now().plus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(2)))));

        final Function<dev.etcdrescue.agent.testing.TestCerts, IssuedCertificate> identity;

        HandshakeRefusal(Function<dev.etcdrescue.agent.testing.TestCerts, IssuedCertificate> identity) {
            this.identity = identity;
        }
    }

    @ParameterizedTest
    @EnumSource(HandshakeRefusal.class)
    void theHandshakeRefusesBesideAnAcceptedCoordinator(HandshakeRefusal refusal) throws Exception {
        try (AgentFixture agent = new AgentFixture(tmp, "coordinator_cn: etcd-rescue-coordinator")) {
            var stub = RescueAgentGrpc.newBlockingStub(agent.channel(TlsContexts.grpcClient(
                    refusal.identity.apply(agent.certs), agent.certs.fleet.certificate()))).withDeadlineAfter(10, TimeUnit.SECONDS);

            assertThatThrownBy(() -> stub.getStatus(GetStatusRequest.getDefaultInstance()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode())
                            .isIn(Status.Code.UNAVAILABLE, Status.Code.UNKNOWN, Status.Code.INTERNAL));
            assertThatThrownBy(() -> stub.claim(ClaimRequest.newBuilder().setHeader(header("op-tls")).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode())
                            .isIn(Status.Code.UNAVAILABLE, Status.Code.UNKNOWN, Status.Code.INTERNAL));

            AgentStatus status = agent.coordinator().getStatus(GetStatusRequest.getDefaultInstance());
            assertThat(status.getHostName()).isEqualTo(AgentFixture.HOST);
            assertThat(status.hasClaim()).isFalse();
            assertThat(agent.config.auditLog()).doesNotExist();
        }
    }

    /** Fleet certificates the agent's authorization refuses, each call audited; the coordinator is accepted. */
    @Test
    void wrongRolesAndForeignCoordinatorIdentitiesAreRefusedOnEveryRpcAndAudited() throws Exception {
        try (AgentFixture agent = new AgentFixture(tmp, "coordinator_cn: etcd-rescue-coordinator")) {
            IssuedCertificate peerAgent = agent.certs.fleet.issueAgent("test-host-1", List.of("127.0.0.1"), Duration.ofDays(1));
            IssuedCertificate etcdClient = agent.certs.fleet.issueEtcdClient("root", Duration.ofDays(1));
            IssuedCertificate rogue = agent.certs.fleet.issueCoordinator("someone-else", Duration.ofDays(1));
            for (IssuedCertificate caller : List.of(peerAgent, etcdClient, rogue)) {
                var stub = agent.as(caller);
                List<Runnable> calls = List.of(
                        () -> stub.getStatus(GetStatusRequest.getDefaultInstance()),
                        () -> stub.claim(ClaimRequest.newBuilder().setHeader(header("op-role")).build()),
                        () -> stub.beginTransfer(dev.etcdrescue.proto.v1.BeginTransferRequest.newBuilder()
                                .setHeader(header("op-role")).setTransferId("x").build()),
                        () -> stub.rollback(dev.etcdrescue.proto.v1.RollbackRequest.newBuilder().setHeader(header("op-role")).build()));
                for (Runnable call : calls) {
                    assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                        assertThat(e.getStatus().getDescription()).isNotBlank();
                    });
                }
            }
            String audit = Files.readString(agent.config.auditLog());
            assertThat(audit).contains("\"peer\":\"test-host-1\",\"rpc\":\"Claim\"", "\"peer\":\"root\",\"rpc\":\"Rollback\"",
                    "\"peer\":\"someone-else\",\"rpc\":\"BeginTransfer\"", "PERMISSION_DENIED: certificate test-host-1 has role agent",
                    "PERMISSION_DENIED: coordinator someone-else is not the one this agent accepts");
            assertThat(audit).as("read-only calls are not audited").doesNotContain("\"rpc\":\"GetStatus\"");

            agent.claim("op-ok");
            assertThat(agent.coordinator().getStatus(GetStatusRequest.getDefaultInstance()).getClaim().getOperationId())
                    .isEqualTo("op-ok");
        }
    }

    @Test
    void withoutCoordinatorCnAnyFleetCoordinatorIsServedButNeverAnotherRole() throws Exception {
        try (AgentFixture agent = new AgentFixture(tmp)) {
            IssuedCertificate other = agent.certs.fleet.issueCoordinator("ops-laptop-2", Duration.ofDays(1));
            assertThat(agent.as(other).getStatus(GetStatusRequest.getDefaultInstance()).getHostName()).isEqualTo(AgentFixture.HOST);
            IssuedCertificate member = agent.certs.fleet.issueEtcdMember("m0", List.of("127.0.0.1"), Duration.ofDays(1));
            assertThatThrownBy(() -> agent.as(member).getStatus(GetStatusRequest.getDefaultInstance()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
        }
    }

    @Test
    void watchStatusStreamsChangesAndForgetsACancelledWatcher() throws Exception {
        try (AgentFixture agent = new AgentFixture(tmp)) {
            List<AgentStatus> seen = new CopyOnWriteArrayList<>();
            AtomicReference<ClientCallStreamObserver<GetStatusRequest>> call = new AtomicReference<>();
            agent.coordinatorAsync().watchStatus(GetStatusRequest.getDefaultInstance(),
                    new ClientResponseObserver<GetStatusRequest, AgentStatus>() {
                        @Override
                        public void beforeStart(ClientCallStreamObserver<GetStatusRequest> requestStream) {
                            call.set(requestStream);
                        }

                        @Override
                        public void onNext(AgentStatus value) {
                            seen.add(value);
                        }

                        @Override
                        public void onError(Throwable t) { }

                        @Override
                        public void onCompleted() { }
                    });
            await().atMost(Duration.ofSeconds(10)).until(() -> !seen.isEmpty());
            assertThat(seen.get(0).getPhase()).isEqualTo(Phase.IDLE);

            agent.claim("op-watch");

            await().atMost(Duration.ofSeconds(10)).until(() -> seen.stream().anyMatch(s -> s.getPhase() == Phase.CLAIMED
                    && s.getOperationId().equals("op-watch") && s.getClaim().getOperationId().equals("op-watch")));
            assertThat(agent.server.status().listenerCount()).isEqualTo(1);
            call.get().cancel("done watching", null);
            await().atMost(Duration.ofSeconds(10)).until(() -> agent.server.status().listenerCount() == 0);
        }
    }
}
