package dev.etcdrescue.agent.it;

import static dev.etcdrescue.agent.testing.AgentFixture.header;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.TlsContexts;
import dev.etcdrescue.proto.v1.AgentStatus;
import dev.etcdrescue.proto.v1.ClaimRequest;
import dev.etcdrescue.proto.v1.GetStatusRequest;
import dev.etcdrescue.proto.v1.Phase;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import static org.awaitility.Awaitility.await;

/** Who may call the agent: real mTLS, certificates made with the pki module. */
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
