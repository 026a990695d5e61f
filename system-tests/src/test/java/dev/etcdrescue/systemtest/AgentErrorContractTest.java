package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.etcdrescue.coordinator.agent.AgentChannels;
import dev.etcdrescue.coordinator.agent.AgentClient;
import dev.etcdrescue.coordinator.agent.AgentEndpoint;
import dev.etcdrescue.coordinator.agent.AgentError;
import dev.etcdrescue.coordinator.agent.AgentRetry;
import dev.etcdrescue.pki.TlsContexts;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.ErrorReason;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.proto.v1.TransferState;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
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
 * The error contract against a real agent (the packaged program under systemd on a testbed host):
 * each refusal carries its ErrorReason in the status details, the coordinator's AgentError reads it,
 * and AgentRetry retries only what passes by itself. Each test releases the claim it took.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class AgentErrorContractTest {
    private static final String CLUSTER = "contract";
    private Testbed testbed;
    private Path pki;
    private TestHost host;
    private AgentClient agent;

    @BeforeAll
    void oneHostWithItsAgent() throws Exception {
        pki = Files.createTempDirectory("etcd-rescue-contract-").resolve("pki");
        testbed = Testbed.create(1, Testbed.Options.defaults().withHostPrefix("errc"));
        testbed.installAgents(pki);
        host = testbed.host(0);
        agent = AgentChannels.fromDir(pki).connect(new AgentEndpoint(host.name(), host.address(), 7443));
    }

    @AfterAll
    void tearDown() {
        if (agent != null) {
            agent.close();
        }
        if (testbed != null) {
            testbed.close();
        }
    }

    @Test
    @Order(1)
    void aHeaderForAnotherHostIsWrongHost() {
        OperationHeader other = header("op-wrong-host").toBuilder().setHostName("not-" + host.name()).build();
        assertRefused(() -> agent.claim(other, Duration.ofMinutes(1)), Status.Code.FAILED_PRECONDITION, ErrorReason.WRONG_HOST);
    }

    @Test
    @Order(2)
    void aTransferWithoutAClaimIsNotClaimed() {
        assertRefused(() -> agent.beginTransfer(begin(header("op-unclaimed"), "t-unclaimed", 1024, "00".repeat(32))),
                Status.Code.FAILED_PRECONDITION, ErrorReason.NOT_CLAIMED);
    }

    @Test
    @Order(3)
    void aSecondOperationIsClaimedByOther() {
        OperationHeader first = header("op-first");
        agent.claim(first, Duration.ofMinutes(1));
        try {
            assertRefused(() -> agent.claim(header("op-second"), Duration.ofMinutes(1)), Status.Code.FAILED_PRECONDITION,
                    ErrorReason.CLAIMED_BY_OTHER);
        } finally {
            agent.releaseClaim(first);
        }
    }

    @Test
    @Order(4)
    void aTransferLargerThanTheDiskIsNoSpace() {
        OperationHeader op = header("op-no-space");
        agent.claim(op, Duration.ofMinutes(1));
        try {
            assertRefused(() -> agent.beginTransfer(begin(op, "t-huge", 1L << 50, "00".repeat(32))),
                    Status.Code.RESOURCE_EXHAUSTED, ErrorReason.NO_SPACE);
        } finally {
            agent.releaseClaim(op);
        }
    }

    /**
     * The refusal the distribute phase waits out after a failed relay: BeginTransfer while an upload of
     * the same transfer is still open. AgentRetry retries it, and the retry succeeds once the stream ends.
     */
    @Test
    @Order(5)
    void anUploadStillOpenIsTransferStillOpenAndTheRetryWaitsItOut() throws Exception {
        OperationHeader op = header("op-still-open");
        byte[] data = new byte[128 * 1024];
        String sha = "00".repeat(32);
        agent.claim(op, Duration.ofMinutes(2));
        ManagedChannel channel = rawChannel();
        ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor();
        try {
            BeginTransferRequest begin = begin(op, "t-open", data.length, sha);
            assertThat(agent.beginTransfer(begin).getDurableOffset()).isZero();
            CompletableFuture<TransferResult> ended = new CompletableFuture<>();
            StreamObserver<SnapshotChunk> upload = openUpload(channel, ended);
            upload.onNext(SnapshotChunk.newBuilder().setHeader(op).setTransferId("t-open").setOffset(0)
                    .setData(ByteString.copyFrom(data, 0, 64 * 1024)).build());

            StatusRuntimeException refused = awaitRefusal(() -> agent.beginTransfer(begin));
            assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
            assertThat(AgentError.reason(refused)).contains(ErrorReason.TRANSFER_STILL_OPEN);
            assertThat(AgentRetry.retryable(refused)).isTrue();

            later.schedule(() -> upload.onError(Status.CANCELLED.withDescription("the test ends the upload").asRuntimeException()),
                    3, TimeUnit.SECONDS);
            List<String> retries = new ArrayList<>();
            TransferState state = AgentRetry.<TransferState>policy(retries::add).get(() -> agent.beginTransfer(begin));
            assertThat(state.getComplete()).isFalse();
            assertThat(retries).isNotEmpty().allSatisfy(r -> assertThat(r).contains("after TRANSFER_STILL_OPEN"));
        } finally {
            later.shutdownNow();
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            agent.releaseClaim(op);
        }
    }

    private void assertRefused(Runnable call, Status.Code code, ErrorReason reason) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(code);
            assertThat(AgentError.reason(e)).as(e.getStatus().toString()).contains(reason);
            assertThat(AgentRetry.retryable(e)).isFalse();
            assertThat(AgentError.describe(e, host.name())).isNotBlank();
        });
    }

    /** The agent registers the stream when its first chunk arrives: ask until it refuses. */
    private static StatusRuntimeException awaitRefusal(Runnable call) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            try {
                call.run();
            } catch (StatusRuntimeException e) {
                return e;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the agent never refused while the upload was open");
            }
            Thread.sleep(200);
        }
    }

    private OperationHeader header(String operation) {
        return OperationHeader.newBuilder().setClusterName(CLUSTER).setOperationId(operation).setHostName(host.name()).build();
    }

    private static BeginTransferRequest begin(OperationHeader header, String id, long size, String sha) {
        return BeginTransferRequest.newBuilder().setHeader(header).setTransferId(id).setTotalSize(size).setSha256(sha)
                .setSource("contract-test").build();
    }

    /** The upload is held open by hand, which AgentClient never does: a raw stream on a channel of the test's own. */
    private ManagedChannel rawChannel() throws Exception {
        return NettyChannelBuilder.forAddress(host.address(), 7443).sslContext(TlsContexts.grpcClient(
                pki.resolve("coordinator.pem"), pki.resolve("coordinator-key.pem"), pki.resolve("ca.pem"))).build();
    }

    private static StreamObserver<SnapshotChunk> openUpload(ManagedChannel channel, CompletableFuture<TransferResult> ended) {
        return RescueAgentGrpc.newStub(channel).withDeadlineAfter(2, TimeUnit.MINUTES).uploadSnapshot(new StreamObserver<>() {
            @Override
            public void onNext(TransferResult value) {
                ended.complete(value);
            }

            @Override
            public void onError(Throwable t) {
                ended.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                ended.complete(null);
            }
        });
    }
}
