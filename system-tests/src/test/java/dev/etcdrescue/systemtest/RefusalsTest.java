package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.TlsContexts;
import dev.etcdrescue.proto.v1.AgentStatus;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.ClaimRequest;
import dev.etcdrescue.proto.v1.GetStatusRequest;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.ReleaseClaimRequest;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
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
 * What etcd-rescue refuses, on three testbed hosts whose whole old cluster is lost (a backup file is
 * the only source). Each refusal sits beside a positive control, and the class ends with the
 * recovery from the good backup, so the hosts' agents demonstrably accept the right requests.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class RefusalsTest {
    private static final int KEYS = 500;
    private Testbed testbed;
    private Path work;
    private Path pki;
    private Path backup;
    private Map<String, String> written;
    private Cli.Result whileQuorum;

    /**
     * The other disaster: every old host is lost. The old cluster lives on its own three hosts, a backup
     * is taken, and those hosts are destroyed; the new cluster is built on three replacement hosts at
     * other addresses, from the backup file alone.
     */
    @BeforeAll
    void oldHostsAllLostOnlyABackupRemains() throws Exception {
        work = Files.createTempDirectory("etcd-rescue-refusals-");
        backup = work.resolve("backup.db");
        testbed = Testbed.create(3, Testbed.Options.defaults().withHostPrefix("node"));
        pki = work.resolve("pki");
        testbed.installAgents(pki);
        try (Testbed old = Testbed.create(3, Testbed.Options.defaults().withHostPrefix("old"))) {
            old.startOldCluster("old-refusals");
            written = EtcdData.load(URI.create(Testbed.oldClientUrl(old.host(0))), "/app/", KEYS, 3);
            whileQuorum = Cli.etcdRescue("recover", "-i", Inventories.write(work, "quorum.yaml", Inventories.seedLike("gamma",
                    testbed.hosts(), pki, Inventories.fromEndpoints(old.hosts()))).toString());
            Cli.Result save = Cli.etcdRescue("snapshot", "save", "--endpoints", Testbed.oldClientUrl(old.host(0)), backup.toString());
            assertThat(save.exitCode()).as(save.all()).isZero();
        }
    }

    /** A restore beside a cluster that still has quorum would split it in two: refused, nothing touched. */
    @Test
    @Order(0)
    void oldClusterWithQuorumIsRefusedBeforeAnyHostChanges() {
        assertThat(whileQuorum.exitCode()).as(whileQuorum.all()).isEqualTo(3);
        assertThat(whileQuorum.stdout()).contains("still sees a leader").contains("--force-with-leader");
        assertNoHostChanged();
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    private Path inventory(String name, Path snapshot, Path tlsDir) throws Exception {
        return Inventories.write(work, name, Inventories.seedLike("gamma", testbed.hosts(), tlsDir, Inventories.fromFile(snapshot)));
    }

    private void assertNoHostChanged() {
        for (TestHost h : testbed.hosts()) {
            assertThat(h.hostPath("/var/lib/etcd/new.etcd")).as(h.name()).doesNotExist();
            assertThat(h.hostPath("/etc/default/etcd_new")).as(h.name()).doesNotExist();
            assertThat(h.hostPath("/etc/systemd/system/etcd_new.service")).as(h.name()).doesNotExist();
            Path staging = h.hostPath("/var/lib/etcd-rescue-agent/staging");
            if (Files.isDirectory(staging)) {
                try (var files = Files.list(staging)) {
                    // Only the coordinator's transfers (named after the digest) count; the in-flight test stages its own.
                    assertThat(files.filter(p -> p.getFileName().toString().startsWith("sha256-")))
                            .as("staged files on %s", h.name()).isEmpty();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        }
    }

    @Test
    @Order(1)
    void coordinatorCertificateFromAnotherCaIsRefusedTheFleetsIsAccepted() throws Exception {
        Path foreign = work.resolve("foreign-pki");
        Files.createDirectories(foreign);
        CertificateAuthority other = CertificateAuthority.create("another-fleet", Duration.ofDays(1));
        other.writeTo(foreign.resolve("other-ca.pem"), foreign.resolve("other-ca-key.pem"));
        Files.copy(pki.resolve("ca.pem"), foreign.resolve("ca.pem"));
        other.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1))
                .writeTo(foreign.resolve("coordinator.pem"), foreign.resolve("coordinator-key.pem"));

        Cli.Result refused = Cli.etcdRescue("recover", "-i", inventory("foreign.yaml", backup, foreign).toString());
        assertThat(refused.exitCode()).as(refused.all()).isEqualTo(3);
        assertThat(refused.stdout()).contains("preflight failed").contains(testbed.host(0).name());
        assertNoHostChanged();

        TestHost h = testbed.host(1);
        assertThatThrownBy(() -> status(h, foreign)).isInstanceOf(StatusRuntimeException.class);
        assertThat(status(h, pki).getHostName()).isEqualTo(h.name());
    }

    @Test
    @Order(2)
    void snapshotWithOneFlippedByteIsRefusedBeforeAnyHostChanges() throws Exception {
        byte[] bytes = Files.readAllBytes(backup);
        bytes[bytes.length / 2] ^= 0x10;
        Path flipped = Files.write(work.resolve("flipped.db"), bytes);

        Cli.Result refused = Cli.etcdRescue("recover", "-i", inventory("flipped.yaml", flipped, pki).toString());
        assertThat(refused.exitCode()).as(refused.all()).isEqualTo(3);
        assertThat(refused.stdout()).contains("is corrupt").contains("Nothing was changed on any host");
        assertNoHostChanged();

        assertThat(Cli.etcdRescue("snapshot", "status", backup.toString()).exitCode()).isZero();
    }

    @Test
    @Order(3)
    void chunkCorruptedInFlightUnderTheRightDigestIsRefusedByTheAgent() throws Exception {
        byte[] bytes = Files.readAllBytes(backup);
        String digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        TestHost h = testbed.host(2);
        OperationHeader header = OperationHeader.newBuilder().setClusterName("gamma").setOperationId("refusal-test")
                .setHostName(h.name()).build();
        ManagedChannel channel = channel(h, pki);
        try {
            var stub = RescueAgentGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
            stub.claim(ClaimRequest.newBuilder().setHeader(header).setTtlMs(60_000).build());
            byte[] corrupt = bytes.clone();
            corrupt[70_000] ^= 0x01;
            BeginTransferRequest begin = BeginTransferRequest.newBuilder().setHeader(header).setTransferId("in-flight-test")
                    .setTotalSize(bytes.length).setSha256(digest).setSource("test").build();

            assertThat(stub.beginTransfer(begin).getDurableOffset()).isZero();
            assertThatThrownBy(() -> upload(channel, header, "in-flight-test", corrupt))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DATA_LOSS));

            var again = RescueAgentGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
            assertThat(again.beginTransfer(begin).getDurableOffset()).isZero();
            TransferResult ok = upload(channel, header, "in-flight-test", bytes);
            assertThat(ok.getSha256()).isEqualTo(digest);
            again.releaseClaim(ReleaseClaimRequest.newBuilder().setHeader(header).build());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    @Order(4)
    void inventoryNamingAnotherHostsAddressOrADuplicateNameIsRefusedNamingTheEntry() throws Exception {
        String good = Inventories.seedLike("gamma", testbed.hosts(), pki, Inventories.fromFile(backup));
        String wrongUrl = good.replace("          address: " + testbed.host(1).address() + "\n",
                "          address: " + testbed.host(1).address() + "\n          client_urls: [http://"
                        + testbed.host(2).address() + ":22379]\n");
        assertThat(wrongUrl).isNotEqualTo(good);
        Cli.Result r1 = Cli.etcdRescue("recover", "-i", Inventories.write(work, "wrong-url.yaml", wrongUrl).toString());
        assertThat(r1.exitCode()).as(r1.all()).isEqualTo(2);
        assertThat(r1.stderr()).contains(testbed.host(1).name()).contains(testbed.host(2).name()).doesNotContain("Exception");

        String duplicate = good.replace("          address: " + testbed.host(2).address() + "\n",
                "          address: " + testbed.host(2).address() + "\n          etcd_name: " + testbed.host(0).name() + "\n");
        Cli.Result r2 = Cli.etcdRescue("recover", "-i", Inventories.write(work, "duplicate.yaml", duplicate).toString());
        assertThat(r2.exitCode()).as(r2.all()).isEqualTo(2);
        assertThat(r2.stderr()).contains(testbed.host(0).name()).contains("duplicate").doesNotContain("Exception");
        assertNoHostChanged();
    }

    /** The positive control for all of the above, and the "all old hosts lost" disaster: restore from the backup. */
    @Test
    @Order(5)
    void theGoodBackupRestoresOntoReplacementHostsAtNewAddresses() throws Exception {
        Cli.Result r = Cli.etcdRescue("recover", "-i", inventory("good.yaml", backup, pki).toString());
        assertThat(r.exitCode()).as(r.all()).isZero();
        assertThat(r.stdout()).contains("RECOVERED");
        assertThat(EtcdData.readAll(URI.create("http://" + testbed.host(1).address() + ":22379"), "/app/"))
                .isEqualTo(new java.util.TreeMap<>(written));
    }

    private static ManagedChannel channel(TestHost h, Path tls) throws Exception {
        return NettyChannelBuilder.forAddress(h.address(), 7443)
                .sslContext(TlsContexts.grpcClient(tls.resolve("coordinator.pem"), tls.resolve("coordinator-key.pem"),
                        tls.resolve("ca.pem")))
                .build();
    }

    private static AgentStatus status(TestHost h, Path tls) throws Exception {
        ManagedChannel c = channel(h, tls);
        try {
            return RescueAgentGrpc.newBlockingStub(c).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .getStatus(GetStatusRequest.getDefaultInstance());
        } finally {
            c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** Sends {@code data} in 64 KiB chunks, the first carrying the header, the last flagged. */
    private static TransferResult upload(ManagedChannel channel, OperationHeader header, String id, byte[] data) throws Exception {
        CompletableFuture<TransferResult> done = new CompletableFuture<>();
        StreamObserver<SnapshotChunk> out = RescueAgentGrpc.newStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS)
                .uploadSnapshot(new StreamObserver<>() {
                    TransferResult result;

                    @Override
                    public void onNext(TransferResult value) {
                        result = value;
                    }

                    @Override
                    public void onError(Throwable t) {
                        done.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        done.complete(result);
                    }
                });
        int chunk = 64 * 1024;
        for (int off = 0; off < data.length; off += chunk) {
            int n = Math.min(chunk, data.length - off);
            SnapshotChunk.Builder b = SnapshotChunk.newBuilder().setTransferId(id).setOffset(off)
                    .setData(ByteString.copyFrom(data, off, n)).setLast(off + n == data.length);
            if (off == 0) {
                b.setHeader(header);
            }
            if (off + n == data.length) {
                b.setFinalSize(data.length);
            }
            out.onNext(b.build());
        }
        out.onCompleted();
        try {
            return done.get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }

    List<TestHost> hosts() {
        return testbed.hosts();
    }
}
