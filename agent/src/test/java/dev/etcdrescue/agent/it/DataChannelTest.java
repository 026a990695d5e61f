package dev.etcdrescue.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.etcdrescue.agent.failpoint.Failpoints;
import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.agent.testing.DataChannelClient;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.TlsContexts;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.proto.v1.TransferState;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The snapshot data channel (decision 0023) against a real agent: real mutual TLS on its data port,
 * real files. It takes what UploadSnapshot takes, with the same checks: the coordinator's certificate
 * only, the claim, the digest before the rename, max_snapshot_bytes; a refusal reaches the sender while
 * it is still sending.
 */
@Timeout(60)
class DataChannelTest {
    private static final String OP = "op-data-1";
    /** Not a multiple of the chunk or of a disk block: the last chunk and the last block are partial. */
    private static final int SIZE = 3 * (1 << 20) + 12_345;
    private static final int CHUNK = 1 << 20;

    @TempDir
    Path tmp;
    private AgentFixture agent;

    @AfterEach
    void stop() {
        if (agent != null) {
            agent.close();
        }
    }

    @Test
    void theCoordinatorsUploadIsVerifiedAndStaged() throws Exception {
        agent = new AgentFixture(tmp);
        agent.claim(OP);
        byte[] file = randomBytes(SIZE);
        int port = announce("t-data", file, true);
        TransferResult result;
        try (DataChannelClient client = DataChannelClient.connect(agent.certs.clientContext(agent.certs.coordinator), port)) {
            result = client.send(chunks(AgentFixture.header(OP), "t-data", file, false));
        }
        assertThat(result.getSha256()).isEqualTo(sha256(file));
        assertThat(result.getSize()).isEqualTo(SIZE);
        assertThat(Files.readAllBytes(Path.of(result.getStagedPath()))).isEqualTo(file);
    }

    /**
     * The checks after the last chunk (here made 25 s long by a failpoint) outlast the sender's idle limit (12 s):
     * the agent says it is working every 10 s, so the sender waits for the answer instead of giving up.
     */
    @Test
    @Timeout(120)
    void aReceiverStillCheckingAfterTheLastChunkKeepsTheSenderWaitingPastItsIdleLimit() throws Exception {
        agent = new AgentFixture(tmp);
        agent.restartWithFailpoints(Failpoints.TRANSFER_CHECKED + "=1*sleep(25s)");
        agent.claim(OP);
        byte[] file = randomBytes(SIZE);
        int port = announce("t-slow-checks", file, true);
        long started = System.nanoTime();
        TransferResult result;
        try (DataChannelClient client = DataChannelClient.connect(agent.certs.clientContext(agent.certs.coordinator), port,
                Duration.ofSeconds(12))) {
            result = client.send(chunks(AgentFixture.header(OP), "t-slow-checks", file, false));
        }
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("the answer came after the slow checks")
                .isGreaterThanOrEqualTo(Duration.ofSeconds(25));
        assertThat(result.getSha256()).isEqualTo(sha256(file));
        assertThat(Files.readAllBytes(Path.of(result.getStagedPath()))).isEqualTo(file);
    }

    @Test
    void corruptedBytesAreRefusedAndNeverStaged() throws Exception {
        agent = new AgentFixture(tmp);
        agent.claim(OP);
        byte[] file = randomBytes(SIZE);
        int port = announce("t-corrupt", file, true);
        byte[] corrupted = file.clone();
        corrupted[SIZE / 2] ^= 1;
        try (DataChannelClient client = DataChannelClient.connect(agent.certs.clientContext(agent.certs.coordinator), port)) {
            assertThatThrownBy(() -> client.send(chunks(AgentFixture.header(OP), "t-corrupt", corrupted, false)))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DATA_LOSS));
        }
        assertThat(staged()).noneMatch(p -> p.getFileName().toString().endsWith(".db"));
        assertThat(staged()).anyMatch(p -> p.getFileName().toString().contains(".corrupt-"));
    }

    @Test
    void anAgentWithoutARelayGrantIsRefusedBeforeAnyByteIsWritten() throws Exception {
        agent = new AgentFixture(tmp);
        agent.claim(OP);
        byte[] file = randomBytes(SIZE);
        int port = announce("t-peer", file, true);
        IssuedCertificate peerAgent = agent.certs.fleet.issueAgent("other-host", List.of("127.0.0.1"), Duration.ofDays(1));
        try (DataChannelClient client = DataChannelClient.connect(TlsContexts.grpcClient(peerAgent, agent.certs.fleet.certificate()), port)) {
            assertThatThrownBy(() -> client.send(chunks(AgentFixture.header(OP), "t-peer", file, false)))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
        }
        assertThat(staged()).noneMatch(p -> p.getFileName().toString().startsWith("t-peer.part"));
        assertThat(Files.readString(agent.stateDir.resolve("audit.log"))).contains("other-host").contains("PERMISSION_DENIED");
    }

    @Test
    void aCertificateOfAnotherCaFailsTheHandshake() throws Exception {
        agent = new AgentFixture(tmp);
        agent.claim(OP);
        byte[] file = randomBytes(SIZE);
        int port = announce("t-foreign", file, true);
        IssuedCertificate foreign = agent.certs.foreign.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1));
        // TLS 1.3: the client may finish its handshake before the agent has refused its certificate.
        assertThatThrownBy(() -> {
            try (DataChannelClient client = DataChannelClient.connect(TlsContexts.grpcClient(foreign, agent.certs.fleet.certificate()), port)) {
                client.send(chunks(AgentFixture.header(OP), "t-foreign", file, false));
            }
        }).isInstanceOf(IOException.class);
        assertThat(staged()).noneMatch(p -> p.getFileName().toString().startsWith("t-foreign.part"));
    }

    @Test
    void anUploadWithoutTheClaimIsRefused() throws Exception {
        agent = new AgentFixture(tmp);
        agent.claim(OP);
        byte[] file = randomBytes(SIZE);
        int port = announce("t-claim", file, true);
        try (DataChannelClient client = DataChannelClient.connect(agent.certs.clientContext(agent.certs.coordinator), port)) {
            assertThatThrownBy(() -> client.send(chunks(AgentFixture.header("op-someone-else"), "t-claim", file, false)))
                    .isInstanceOf(StatusRuntimeException.class);
        }
        assertThat(staged()).noneMatch(p -> p.getFileName().toString().equals("t-claim.db"));
    }

    @Test
    void aLiveUploadBeyondMaxSnapshotBytesIsStoppedWhileItIsSent() throws Exception {
        agent = AgentFixture.withConfig(tmp, "", "max_snapshot_bytes: 2MiB");
        agent.claim(OP);
        byte[] file = randomBytes(SIZE);
        // A live transfer: no size or digest announced, so the cap is checked as the bytes come.
        int port = announce("t-cap", file, false);
        try (DataChannelClient client = DataChannelClient.connect(agent.certs.clientContext(agent.certs.coordinator), port)) {
            assertThatThrownBy(() -> client.send(chunks(AgentFixture.header(OP), "t-cap", file, true)))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
        }
        assertThat(staged()).noneMatch(p -> p.getFileName().toString().equals("t-cap.db"));
    }

    @Test
    void anotherProtocolIsRefusedAtItsFirstBytes() throws Exception {
        agent = new AgentFixture(tmp);
        agent.claim(OP);
        int port = announce("t-h2", randomBytes(10), true);
        try (DataChannelClient client = DataChannelClient.connect(agent.certs.clientContext(agent.certs.coordinator), port)) {
            assertThatThrownBy(() -> client.sendRaw("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
        }
    }

    /** BeginTransfer over gRPC, as the coordinator does; returns the data port its answer names. */
    private int announce(String transferId, byte[] file, boolean withDigest) throws Exception {
        BeginTransferRequest.Builder request = BeginTransferRequest.newBuilder().setHeader(AgentFixture.header(OP))
                .setTransferId(transferId).setSource("test").setSkipSnapshotStatus(true);
        if (withDigest) {
            request.setTotalSize(file.length).setSha256(sha256(file));
        }
        TransferState state = agent.coordinator().beginTransfer(request.build());
        assertThat(state.getDataPort()).isPositive();
        assertThat(state.getGrpcPort()).as("the port the data port is told with").isEqualTo(agent.server.port());
        return state.getDataPort();
    }

    private static List<SnapshotChunk> chunks(OperationHeader header, String transferId, byte[] file, boolean live) throws Exception {
        List<SnapshotChunk> chunks = new ArrayList<>();
        for (int offset = 0; offset < file.length; offset += CHUNK) {
            int n = Math.min(CHUNK, file.length - offset);
            SnapshotChunk.Builder chunk = SnapshotChunk.newBuilder().setTransferId(transferId).setOffset(offset)
                    .setData(ByteString.copyFrom(file, offset, n));
            if (offset == 0) {
                chunk.setHeader(header);
            }
            if (offset + n == file.length) {
                chunk.setLast(true).setFinalSize(file.length);
                if (live) {
                    chunk.setFinalSha256(sha256(file));
                }
            }
            chunks.add(chunk.build());
        }
        return chunks;
    }

    private List<Path> staged() throws IOException {
        try (Stream<Path> files = Files.list(agent.stateDir.resolve("staging"))) {
            return files.toList();
        }
    }

    private static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        new Random(n).nextBytes(bytes);
        return bytes;
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
