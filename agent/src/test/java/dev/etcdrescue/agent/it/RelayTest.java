package dev.etcdrescue.agent.it;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.agent.testing.RelayGrants;
import dev.etcdrescue.agent.testing.SourceSnapshot;
import dev.etcdrescue.agent.testing.Uploads;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.TlsContexts;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.RelayGrant;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.proto.v1.TransferState;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Relay between real agents: three in-process agents of one fleet on 127.0.0.1 with real mTLS, a real
 * etcd snapshot, the test in the coordinator's place (its certificate, its grants). The coordinator
 * sends once to the first agent; each agent writes, verifies and forwards to the next.
 */
@Tag("etcd")
@Timeout(120)
class RelayTest {
    private static final String OP = "op-relay";
    private static final Metadata.Key<String> FAILED_HOP =
            Metadata.Key.of("etcd-rescue-relay-failed-hop", Metadata.ASCII_STRING_MARSHALLER);

    @TempDir
    static Path shared;
    @TempDir
    Path tmp;
    static SourceSnapshot snapshot;
    private final List<AgentFixture> agents = new ArrayList<>();

    @BeforeAll
    static void takeSnapshot() throws Exception {
        snapshot = SourceSnapshot.take(shared);
    }

    @BeforeEach
    void startAgents() throws Exception {
        AgentFixture a = new AgentFixture(tmp.resolve("a"), "relay-a", (dev.etcdrescue.agent.testing.TestCerts) null);
        agents.add(a);
        agents.add(new AgentFixture(tmp.resolve("b"), "relay-b", a.certs));
        agents.add(new AgentFixture(tmp.resolve("c"), "relay-c", a.certs));
        for (AgentFixture agent : agents) {
            agent.claim(OP);
        }
    }

    @AfterEach
    void stopAgents() {
        agents.forEach(AgentFixture::close);
    }

    @Test
    void theCoordinatorSendsOnceAndEveryAgentOfTheChainHoldsTheVerifiedFile() throws Exception {
        announceChain("t-chain");
        AtomicLong sent = new AtomicLong();
        AgentFixture head = agents.get(0);

        TransferResult result = Uploads.upload(head.coordinatorAsync(), head.headerFor(OP), "t-chain", snapshot.bytes(), 0,
                counting(sent));

        assertThat(result.getSha256()).isEqualTo(snapshot.sha256());
        assertThat(sent.get()).as("coordinator egress").isEqualTo(snapshot.bytes().length);
        for (AgentFixture agent : agents) {
            TransferState state = begin(agent, "t-chain");
            assertThat(state.getComplete()).as(agent.hostName).isTrue();
            assertThat(state.getResult().getSha256()).isEqualTo(snapshot.sha256());
            assertThat(state.getResult().getSnapshotStatus().getTotalKeys()).isGreaterThan(100);
            assertThat(Files.readAllBytes(agent.config.stagingDir().resolve("t-chain.db"))).isEqualTo(snapshot.bytes());
        }
        assertThat(Files.readString(agents.get(1).config.auditLog())).contains("\"peer\":\"relay-a\",\"rpc\":\"RelaySnapshot\"");
        assertThat(Files.readString(agents.get(2).config.auditLog())).contains("\"peer\":\"relay-b\",\"rpc\":\"RelaySnapshot\"");
    }

    @Test
    void aHopKilledMidStreamIsNamedAndTheMissedHostsGetTheFileDirectlyFromTheirDurableOffsets() throws Exception {
        announceChain("t-kill");
        AgentFixture head = agents.get(0);
        AgentFixture middle = agents.get(1);
        String middleEndpoint = middle.endpoint();
        UnaryOperator<SnapshotChunk> killMiddleMidStream = chunk -> {
            if (chunk.getOffset() == 5L * Uploads.CHUNK) {
                await().atMost(Duration.ofSeconds(30)).until(() -> middle.server.status().snapshot().getBytesReceived() > 0);
                middle.server.shutdown(Duration.ZERO);
            }
            return chunk;
        };

        assertThatThrownBy(() -> Uploads.upload(head.coordinatorAsync(), head.headerFor(OP), "t-kill", snapshot.bytes(), 0,
                killMiddleMidStream)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ABORTED);
                    assertThat(e.getStatus().getDescription()).contains("relaying it failed at " + middleEndpoint);
                    assertThat(Status.trailersFromThrowable(e).get(FAILED_HOP)).isEqualTo(middleEndpoint);
                });

        // The coordinator's fallback: what the relay missed goes directly, resuming where each host stands.
        middle.restart();
        for (AgentFixture agent : agents) {
            TransferState state = await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> begin(agent, "t-kill"),
                    s -> true);
            TransferResult result = state.getComplete() ? state.getResult()
                    : Uploads.upload(agent.coordinatorAsync(), agent.headerFor(OP), "t-kill", snapshot.bytes(),
                            state.getDurableOffset(), UnaryOperator.identity());
            assertThat(result.getSha256()).as(agent.hostName).isEqualTo(snapshot.sha256());
            assertThat(state.getComplete()).as("only the head finished before the hop failed: " + agent.hostName)
                    .isEqualTo(agent == head);
        }
    }

    @Test
    void aLaterAnnouncementWithoutGrantMeansDirectAndNothingIsForwarded() throws Exception {
        announceChain("t-direct-after");
        AgentFixture head = agents.get(0);
        begin(head, "t-direct-after");

        TransferResult result = Uploads.upload(head.coordinatorAsync(), head.headerFor(OP), "t-direct-after", snapshot.bytes(),
                0, UnaryOperator.identity());

        assertThat(result.getSha256()).isEqualTo(snapshot.sha256());
        Path nextPart = agents.get(1).config.stagingDir().resolve("t-direct-after.part");
        assertThat(Files.exists(nextPart) ? Files.size(nextPart) : 0L).as("bytes forwarded to the next agent").isZero();
        assertThat(agents.get(1).config.stagingDir().resolve("t-direct-after.db")).doesNotExist();
    }

    @Test
    void relaySnapshotRefusesEveryCallerAndGrantButAPeerAgentWithTheCoordinatorsGrant() throws Exception {
        AgentFixture target = agents.get(1);
        IssuedCertificate upstream = agents.get(0).certs.agent;
        IssuedCertificate third = agents.get(2).certs.agent;
        IssuedCertificate coordinator = target.certs.coordinator;
        Instant later = Instant.now().plus(Duration.ofMinutes(5));
        IssuedCertificate otherCoordinator = target.certs.fleet.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1));
        record Case(String name, IssuedCertificate caller, java.util.function.Function<String, RelayGrant> grant) {}
        String hop = target.endpoint();
        List<Case> cases = List.of(
                new Case("no-grant", upstream, id -> null),
                new Case("forged-by-agent", upstream, id -> RelayGrants.sign(upstream, id, OP, UPSTREAM, List.of(hop), later)),
                new Case("forged-by-other-key", upstream, id -> RelayGrants.sign(otherCoordinator, id, OP, UPSTREAM, List.of(hop), later)),
                new Case("expired", upstream, id -> RelayGrants.sign(coordinator, id, OP, UPSTREAM, List.of(hop), Instant.now().minusSeconds(1))),
                new Case("another-transfer", upstream, id -> RelayGrants.sign(coordinator, "t-other", OP, UPSTREAM, List.of(hop), later)),
                new Case("another-operation", upstream, id -> RelayGrants.sign(coordinator, id, "op-other", UPSTREAM, List.of(hop), later)),
                new Case("not-this-hop", upstream, id -> RelayGrants.sign(coordinator, id, OP, UPSTREAM, List.of("127.0.0.1:1", hop), later)),
                new Case("coordinator-certificate", coordinator, id -> RelayGrants.sign(coordinator, id, OP, UPSTREAM, List.of(hop), later)),
                new Case("another-agents-grant", upstream, id -> RelayGrants.sign(coordinator, id, OP, "relay-c", List.of(hop), later)),
                new Case("grant-presented-by-a-third-agent", third, id -> RelayGrants.sign(coordinator, id, OP, UPSTREAM, List.of(hop), later)));
        // Announced to the target with a grant of its own, so that "another-transfer" presents a real grant.
        announce(target, "t-other", List.of());
        for (Case c : cases) {
            String transferId = "t-" + c.name();
            announce(target, transferId, List.of());
            assertThatThrownBy(() -> relay(target, c.caller(), transferId, c.grant().apply(transferId))).as(c.name())
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
                            assertThat(e.getStatus().getCode()).as(c.name() + ": " + e.getStatus()).isEqualTo(Status.Code.PERMISSION_DENIED));

            RelayGrant valid = RelayGrants.sign(coordinator, transferId, OP, UPSTREAM, List.of(hop), later);
            assertThat(relay(target, upstream, transferId, valid).getSha256()).as("positive control beside " + c.name())
                    .isEqualTo(snapshot.sha256());
        }

        // Announced without a grant: no peer may deliver it, even with a grant for it.
        target.coordinator().beginTransfer(BeginTransferRequest.newBuilder().setHeader(target.headerFor(OP))
                .setTransferId("t-plain").setTotalSize(snapshot.bytes().length).setSha256(snapshot.sha256()).build());
        assertThatThrownBy(() -> relay(target, upstream, "t-plain", RelayGrants.sign(coordinator, "t-plain", OP, UPSTREAM, List.of(hop), later)))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode())
                        .isEqualTo(Status.Code.PERMISSION_DENIED));
        assertThat(Uploads.upload(target.coordinatorAsync(), target.headerFor(OP), "t-plain", snapshot.bytes(), 0,
                UnaryOperator.identity()).getSha256()).as("positive control: the coordinator uploads it").isEqualTo(snapshot.sha256());

        // A grant in BeginTransfer that the calling coordinator did not sign is refused there already.
        assertThatThrownBy(() -> target.coordinator().beginTransfer(BeginTransferRequest.newBuilder().setHeader(target.headerFor(OP))
                .setTransferId("t-bad-announce").setTotalSize(snapshot.bytes().length).setSha256(snapshot.sha256())
                .setRelay(RelayGrants.sign(otherCoordinator, "t-bad-announce", OP, UPSTREAM, List.of(), later)).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode())
                        .isEqualTo(Status.Code.PERMISSION_DENIED));
    }

    /** The host name of agents.get(0), which relays to the others in these tests. */
    private static final String UPSTREAM = "relay-a";

    /** The coordinator's part: BeginTransfer on every agent with its grant naming the rest of the chain. */
    private void announceChain(String transferId) {
        List<String> endpoints = agents.stream().map(AgentFixture::endpoint).toList();
        for (int i = 0; i < agents.size(); i++) {
            announce(agents.get(i), transferId, endpoints.subList(i + 1, endpoints.size()));
        }
    }

    private void announce(AgentFixture agent, String transferId, List<String> nextHops) {
        try {
            TransferState state = agent.coordinator().beginTransfer(BeginTransferRequest.newBuilder()
                    .setHeader(agent.headerFor(OP)).setTransferId(transferId).setTotalSize(snapshot.bytes().length)
                    .setSha256(snapshot.sha256())
                    .setRelay(RelayGrants.sign(agent.certs.coordinator, transferId, OP, agent.hostName, nextHops,
                            Instant.now().plus(Duration.ofMinutes(5))))
                    .build());
            assertThat(state.getDurableOffset()).isZero();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static TransferState begin(AgentFixture agent, String transferId) throws Exception {
        return agent.coordinator().beginTransfer(BeginTransferRequest.newBuilder().setHeader(agent.headerFor(OP))
                .setTransferId(transferId).setTotalSize(snapshot.bytes().length).setSha256(snapshot.sha256()).build());
    }

    /** RelaySnapshot to {@code target} as {@code caller}, the grant (if any) in the first chunk. */
    private static TransferResult relay(AgentFixture target, IssuedCertificate caller, String transferId, RelayGrant grant)
            throws Exception {
        var stub = RescueAgentGrpc.newStub(target.channel(TlsContexts.grpcClient(caller, target.certs.fleet.certificate())))
                .withDeadlineAfter(30, TimeUnit.SECONDS);
        return Uploads.relay(stub, target.headerFor(OP).toBuilder().clearHostName().build(), transferId, snapshot.bytes(),
                chunk -> chunk.hasHeader() && grant != null ? chunk.toBuilder().setRelay(grant).build() : chunk);
    }

    private static UnaryOperator<SnapshotChunk> counting(AtomicLong sent) {
        return chunk -> {
            sent.addAndGet(chunk.getData().size());
            return chunk;
        };
    }
}
