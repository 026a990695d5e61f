package dev.etcdrescue.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.agent.testing.RelayGrants;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.HopOutcome;
import dev.etcdrescue.proto.v1.LocalEtcdAccess;
import dev.etcdrescue.proto.v1.RelayGrant;
import dev.etcdrescue.proto.v1.SendSnapshotRequest;
import dev.etcdrescue.proto.v1.SendSnapshotResult;
import dev.etcdrescue.proto.v1.TakeSnapshotRequest;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.proto.v1.TransferState;
import dev.etcdrescue.testsupport.FreePorts;
import dev.etcdrescue.testsupport.LocalEtcd;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The source host's agent takes the snapshot of its own (real, local) etcd and sends it to two other
 * real agents over real mTLS, the test in the coordinator's place (its certificate, its grants): no
 * snapshot byte passes through the caller. Receivers check the sender against their grant and the
 * bytes against the digest the coordinator announced.
 */
@Tag("etcd")
@Timeout(180)
class SourceSnapshotTest {
    private static final String OP = "op-source";
    private static final String SOURCE = "source-a";

    @TempDir
    static Path etcdDir;
    @TempDir
    Path tmp;
    private static LocalEtcd etcd;
    private AgentFixture source;
    private AgentFixture b;
    private AgentFixture c;

    @BeforeAll
    static void startEtcd() throws Exception {
        etcd = LocalEtcd.startFresh(etcdDir.resolve("data"), etcdDir.resolve("etcd.log"));
        for (int i = 0; i < 300; i++) {
            etcd.etcdctl("put", "/source/key-" + i, "value-" + i + "-" + "x".repeat(2000));
        }
    }

    @AfterAll
    static void stopEtcd() {
        if (etcd != null) {
            etcd.close();
        }
    }

    @BeforeEach
    void startAgents() throws Exception {
        source = new AgentFixture(tmp.resolve("a"), SOURCE, (dev.etcdrescue.agent.testing.TestCerts) null);
        b = new AgentFixture(tmp.resolve("b"), "source-b", source.certs);
        c = new AgentFixture(tmp.resolve("c"), "source-c", source.certs);
        for (AgentFixture agent : List.of(source, b, c)) {
            agent.claim(OP);
        }
    }

    @AfterEach
    void stopAgents() {
        Stream.of(source, b, c).forEach(AgentFixture::close);
    }

    @Test
    void theSourceSnapshotsItsMemberAndFansOutToTwoAgentsThatEachVerifyIt() throws Exception {
        TransferResult taken = take();
        assertThat(taken.getTransferId()).isEqualTo("sha256-" + taken.getSha256().substring(0, 32));
        assertThat(taken.getHasHashTrailer()).isTrue();
        assertThat(taken.getSnapshotStatus().getTotalKeys()).isGreaterThanOrEqualTo(300);
        assertThat(taken.getSnapshotStatus().getRevision()).isGreaterThanOrEqualTo(301);
        assertThat(leftovers(source)).as("the temp file became the staged one").isEmpty();

        announceFanOut(taken, SOURCE);
        SendSnapshotResult sent = send(taken);

        assertThat(sent.getHopsList()).extracting(HopOutcome::getOk).containsExactly(true, true);
        byte[] staged = Files.readAllBytes(Path.of(taken.getStagedPath()));
        for (AgentFixture receiver : List.of(b, c)) {
            TransferState state = begin(receiver, taken, null);
            assertThat(state.getComplete()).as(receiver.hostName).isTrue();
            assertThat(state.getResult().getSha256()).isEqualTo(taken.getSha256());
            assertThat(Files.readAllBytes(receiver.config.stagingDir().resolve(taken.getTransferId() + ".db"))).isEqualTo(staged);
            assertThat(Files.readString(receiver.config.auditLog()))
                    .contains("\"peer\":\"" + SOURCE + "\",\"rpc\":\"RelaySnapshot\"");
        }
    }

    @Test
    void aChainFromTheSourceReachesTheLastHopThroughTheFirst() throws Exception {
        TransferResult taken = take();
        begin(source, taken, RelayGrants.sign(source.certs.coordinator, taken.getTransferId(), OP, SOURCE,
                List.of(b.endpoint(), c.endpoint()), later()));
        begin(b, taken, RelayGrants.sign(source.certs.coordinator, taken.getTransferId(), OP, b.hostName, List.of(c.endpoint()), later()));
        begin(c, taken, RelayGrants.sign(source.certs.coordinator, taken.getTransferId(), OP, c.hostName, List.of(), later()));

        SendSnapshotResult sent = send(taken);

        assertThat(sent.getHopsList()).singleElement().satisfies(h -> assertThat(h.getEndpoint()).isEqualTo(b.endpoint()));
        assertThat(sent.getHops(0).getOk()).as(sent.toString()).isTrue();
        assertThat(begin(c, taken, null).getComplete()).isTrue();
        assertThat(Files.readString(c.config.auditLog())).contains("\"peer\":\"source-b\",\"rpc\":\"RelaySnapshot\"");
    }

    @Test
    void givenTheHopsDataPortsTheSourceFansOutOverTheirDataChannels() throws Exception {
        TransferResult taken = take();
        begin(source, taken, fanOutGrant(taken), Map.of(b.endpoint(), dataPort(b), c.endpoint(), dataPort(c)));
        begin(b, taken, receiverGrant(taken, b, SOURCE));
        begin(c, taken, receiverGrant(taken, c, SOURCE));

        SendSnapshotResult sent = send(taken);

        assertThat(sent.getHopsList()).as(sent.toString()).extracting(HopOutcome::getOk).containsExactly(true, true);
        assertThat(sent.getHopsList()).extracting(HopOutcome::getTransport).containsExactly("data channel", "data channel");
        byte[] staged = Files.readAllBytes(Path.of(taken.getStagedPath()));
        for (AgentFixture receiver : List.of(b, c)) {
            assertThat(begin(receiver, taken, null).getComplete()).as(receiver.hostName).isTrue();
            assertThat(Files.readAllBytes(receiver.config.stagingDir().resolve(taken.getTransferId() + ".db"))).isEqualTo(staged);
            assertThat(Files.readString(receiver.config.auditLog()))
                    .contains("\"peer\":\"" + SOURCE + "\",\"rpc\":\"RelaySnapshot\"");
        }
    }

    @Test
    void aChainOverDataChannelsRelaysEveryChunkThroughTheMiddleHop() throws Exception {
        TransferResult taken = take();
        begin(source, taken, RelayGrants.sign(source.certs.coordinator, taken.getTransferId(), OP, SOURCE,
                List.of(b.endpoint(), c.endpoint()), later()), Map.of(b.endpoint(), dataPort(b)));
        begin(b, taken, RelayGrants.sign(source.certs.coordinator, taken.getTransferId(), OP, b.hostName, List.of(c.endpoint()), later()),
                Map.of(c.endpoint(), dataPort(c)));
        begin(c, taken, RelayGrants.sign(source.certs.coordinator, taken.getTransferId(), OP, c.hostName, List.of(), later()));

        SendSnapshotResult sent = send(taken);

        assertThat(sent.getHops(0).getOk()).as(sent.toString()).isTrue();
        assertThat(sent.getHops(0).getTransport()).isEqualTo("data channel");
        assertThat(begin(c, taken, null).getComplete()).isTrue();
        assertThat(Files.readAllBytes(c.config.stagingDir().resolve(taken.getTransferId() + ".db")))
                .isEqualTo(Files.readAllBytes(Path.of(taken.getStagedPath())));
        assertThat(Files.readString(c.config.auditLog())).contains("\"peer\":\"source-b\",\"rpc\":\"RelaySnapshot\"");
    }

    @Test
    void aDataPortWhereNothingListensFallsBackToRelaySnapshot() throws Exception {
        TransferResult taken = take();
        begin(source, taken, fanOutGrant(taken), Map.of(b.endpoint(), FreePorts.loopback(), c.endpoint(), dataPort(c)));
        begin(b, taken, receiverGrant(taken, b, SOURCE));
        begin(c, taken, receiverGrant(taken, c, SOURCE));

        SendSnapshotResult sent = send(taken);

        assertThat(sent.getHopsList()).as(sent.toString()).extracting(HopOutcome::getOk).containsExactly(true, true);
        assertThat(sent.getHopsList()).extracting(HopOutcome::getTransport).containsExactly("RelaySnapshot", "data channel");
    }

    @Test
    void aCorruptFileSentOverTheDataChannelIsRefusedByTheDigestAndNeverStaged() throws Exception {
        TransferResult taken = take();
        Path staged = Path.of(taken.getStagedPath());
        byte[] original = Files.readAllBytes(staged);
        begin(source, taken, fanOutGrant(taken), Map.of(b.endpoint(), dataPort(b), c.endpoint(), dataPort(c)));
        begin(b, taken, receiverGrant(taken, b, SOURCE));
        begin(c, taken, receiverGrant(taken, c, SOURCE));
        try (RandomAccessFile file = new RandomAccessFile(staged.toFile(), "rw")) {
            file.seek(original.length / 3);
            file.write(original[original.length / 3] ^ 0x5a);
        }

        SendSnapshotResult sent = send(taken);

        assertThat(sent.getHopsList()).allSatisfy(hop -> {
            assertThat(hop.getOk()).isFalse();
            assertThat(hop.getTransport()).isEqualTo("data channel");
            assertThat(hop.getCode()).isEqualTo("DATA_LOSS");
        });
        assertThat(b.config.stagingDir().resolve(taken.getTransferId() + ".db")).doesNotExist();
    }

    @Test
    void aReceiverWhoseGrantNamesAnotherSenderRefusesAndIsNamedWithItsReason() throws Exception {
        TransferResult taken = take();
        begin(source, taken, fanOutGrant(taken));
        begin(b, taken, RelayGrants.sign(source.certs.coordinator, taken.getTransferId(), OP, b.hostName, List.of(), later(),
                false, "source-c"));
        begin(c, taken, receiverGrant(taken, c, SOURCE));

        SendSnapshotResult sent = send(taken);

        HopOutcome refused = sent.getHops(0);
        assertThat(refused.getOk()).isFalse();
        assertThat(refused.getFailedHop()).isEqualTo(b.endpoint());
        assertThat(refused.getCode()).isEqualTo("PERMISSION_DENIED");
        assertThat(refused.getReason()).isEqualTo("RELAY_REFUSED");
        assertThat(refused.getMessage()).contains("only from source-c's fan-out, not from " + SOURCE);
        assertThat(b.config.stagingDir().resolve(taken.getTransferId() + ".db")).doesNotExist();
        assertThat(sent.getHops(1).getOk()).as("the other hop is not held back by the refusal").isTrue();
    }

    @Test
    void corruptOrShortBytesFromTheSourceAreRefusedByTheDigestTheCoordinatorAnnounced() throws Exception {
        TransferResult taken = take();
        Path staged = Path.of(taken.getStagedPath());
        byte[] original = Files.readAllBytes(staged);
        // Announced first: the source's own BeginTransfer hashes a staged file that changed and would refuse it already.
        announceFanOut(taken, SOURCE);
        try (RandomAccessFile file = new RandomAccessFile(staged.toFile(), "rw")) {
            file.seek(original.length / 2);
            file.write(original[original.length / 2] ^ 0x5a);
        }

        SendSnapshotResult corrupt = send(taken);

        for (HopOutcome hop : corrupt.getHopsList()) {
            assertThat(hop.getOk()).isFalse();
            assertThat(hop.getCode()).isEqualTo("DATA_LOSS");
            assertThat(hop.getMessage()).contains("digest mismatch: expected " + taken.getSha256());
        }
        assertThat(b.config.stagingDir().resolve(taken.getTransferId() + ".db")).doesNotExist();
        try (Stream<Path> files = Files.list(b.config.stagingDir())) {
            assertThat(files.map(p -> p.getFileName().toString())).anyMatch(n -> n.contains(".corrupt-"));
        }

        begin(b, taken, receiverGrant(taken, b, SOURCE));
        begin(c, taken, receiverGrant(taken, c, SOURCE));
        Files.write(staged, java.util.Arrays.copyOf(original, original.length - 4096));
        SendSnapshotResult shortFile = send(taken);
        assertThat(shortFile.getHopsList()).allSatisfy(hop -> {
            assertThat(hop.getOk()).isFalse();
            assertThat(hop.getMessage()).contains("bytes were announced");
        });
        assertThat(c.config.stagingDir().resolve(taken.getTransferId() + ".db")).doesNotExist();
    }

    @Test
    void aStoppedMemberOrAHostWithoutEtcdctlIsRefusedWithItsReasonAndLeavesNothing() throws Exception {
        String url = "http://127.0.0.1:" + FreePorts.loopback();
        assertThatThrownBy(() -> source.coordinator().takeSnapshot(request(url)))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription()).contains("etcdctl endpoint status against " + url);
                });
        assertThat(leftovers(source)).isEmpty();

        try (AgentFixture bare = new AgentFixture(tmp.resolve("bare"), "", "[" + tmp.resolve("no-tools") + "]")) {
            bare.claim(OP);
            assertThatThrownBy(() -> bare.coordinator().takeSnapshot(TakeSnapshotRequest.newBuilder().setHeader(bare.headerFor(OP))
                    .setLocal(LocalEtcdAccess.newBuilder().setEndpoint(etcd.clientUrl().toString())).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                        assertThat(e.getStatus().getDescription()).contains("no etcdctl in tool_dirs");
                    });
        }
    }

    @Test
    void theSameMemberSnapshottedAgainIsTheSnapshotAlreadyStaged() throws Exception {
        TransferResult first = take();
        TransferResult again = take();
        assertThat(again.getTransferId()).isEqualTo(first.getTransferId());
        assertThat(again.getStagedPath()).isEqualTo(first.getStagedPath());
        assertThat(leftovers(source)).isEmpty();
    }

    private TransferResult take() throws IOException {
        return source.coordinator().takeSnapshot(request(etcd.clientUrl().toString()));
    }

    private TakeSnapshotRequest request(String url) {
        return TakeSnapshotRequest.newBuilder().setHeader(source.headerFor(OP))
                .setLocal(LocalEtcdAccess.newBuilder().setEndpoint(url)).build();
    }

    private SendSnapshotResult send(TransferResult taken) throws IOException {
        return source.coordinator().sendSnapshot(SendSnapshotRequest.newBuilder().setHeader(source.headerFor(OP))
                .setTransferId(taken.getTransferId()).build());
    }

    /** The coordinator's part: the source's fan-out grant, and each receiver's naming {@code upstream}. */
    private void announceFanOut(TransferResult taken, String upstream) throws IOException {
        begin(source, taken, fanOutGrant(taken));
        begin(b, taken, receiverGrant(taken, b, upstream));
        begin(c, taken, receiverGrant(taken, c, upstream));
    }

    private RelayGrant fanOutGrant(TransferResult taken) {
        return RelayGrants.sign(source.certs.coordinator, taken.getTransferId(), OP, SOURCE, List.of(b.endpoint(), c.endpoint()),
                later(), true, "");
    }

    private RelayGrant receiverGrant(TransferResult taken, AgentFixture receiver, String upstream) {
        return RelayGrants.sign(source.certs.coordinator, taken.getTransferId(), OP, receiver.hostName, List.of(), later(), false,
                upstream);
    }

    private static TransferState begin(AgentFixture agent, TransferResult taken, RelayGrant grant) throws IOException {
        return begin(agent, taken, grant, Map.of());
    }

    private static TransferState begin(AgentFixture agent, TransferResult taken, RelayGrant grant, Map<String, Integer> dataPorts)
            throws IOException {
        BeginTransferRequest.Builder request = BeginTransferRequest.newBuilder().setHeader(agent.headerFor(OP))
                .setTransferId(taken.getTransferId()).setTotalSize(taken.getSize()).setSha256(taken.getSha256())
                .putAllNextHopDataPorts(dataPorts);
        if (grant != null) {
            request.setRelay(grant);
        }
        return agent.coordinator().beginTransfer(request.build());
    }

    private static int dataPort(AgentFixture agent) {
        return agent.server.dataPort().orElseThrow();
    }

    private static Instant later() {
        return Instant.now().plus(Duration.ofMinutes(5));
    }

    private static List<Path> leftovers(AgentFixture agent) throws IOException {
        if (!Files.isDirectory(agent.config.stagingDir())) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(agent.config.stagingDir())) {
            return files.filter(p -> p.getFileName().toString().startsWith("local-snapshot-")).toList();
        }
    }
}
