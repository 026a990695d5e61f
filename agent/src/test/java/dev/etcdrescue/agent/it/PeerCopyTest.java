package dev.etcdrescue.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.backup.BackupManifest;
import dev.etcdrescue.agent.backup.BackupStore;
import dev.etcdrescue.agent.backup.PeerCopies;
import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.agent.transfer.RelayDialer;
import dev.etcdrescue.pki.SigningIdentity;
import dev.etcdrescue.pki.TlsContexts;
import dev.etcdrescue.proto.v1.BackupAgentGrpc;
import dev.etcdrescue.proto.v1.BackupCopyChunk;
import dev.etcdrescue.proto.v1.BackupCopyResult;
import dev.etcdrescue.proto.v1.BackupEntry;
import dev.etcdrescue.proto.v1.BackupList;
import dev.etcdrescue.proto.v1.ListBackupsRequest;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import dev.etcdrescue.snapshotformat.bolt.BoltSnapshot;
import dev.etcdrescue.snapshotformat.bolt.SnapshotInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backup's second copy, agent to agent: three in-process agents of one fleet on 127.0.0.1 with real mTLS, backups
 * configured on each (the schedule never reaches an etcd here), a backup of a real etcd 3.4 snapshot stored on the
 * first, pushed to the second with the first agent's own certificate. The holder checks and reads it back, signs its
 * own manifest naming where it came from; what is not the taker's own, not whole, or not from an agent is refused.
 */
@Tag("etcd")
@Timeout(60)
class PeerCopyTest {
    @TempDir
    Path tmp;
    private AgentFixture taker;
    private AgentFixture holder;
    private AgentFixture third;
    private BackupManifest backup;
    private BackupStore takerStore;

    private static String backupYaml(Path dir) {
        return """
                backup:
                  interval: PT10M
                  dir: %s
                  cluster: prod-a
                  etcd: {endpoint: "http://127.0.0.1:9"}
                """.formatted(dir);
    }

    @BeforeEach
    void agentsWithABackupOnTheFirst() throws Exception {
        taker = AgentFixture.peer(tmp.resolve("a"), "copy-a", null, backupYaml(tmp.resolve("a/backups")));
        holder = AgentFixture.peer(tmp.resolve("b"), "copy-b", taker.certs, backupYaml(tmp.resolve("b/backups")));
        third = AgentFixture.peer(tmp.resolve("c"), "copy-c", taker.certs, backupYaml(tmp.resolve("c/backups")));
        Path snapshot = tmp.resolve("snapshot.db");
        try (InputStream in = getClass().getResourceAsStream("/snapshots/etcd-3.4.23-revision-41.db")) {
            Files.copy(in, snapshot);
        }
        SnapshotInfo info = BoltSnapshot.read(snapshot);
        SnapshotDigest digest = new SnapshotDigest();
        byte[] bytes = Files.readAllBytes(snapshot);
        digest.update(bytes, 0, bytes.length);
        takerStore = new BackupStore(tmp.resolve("a/backups"), taker.certs.fleet.certificate());
        String takenAt = Instant.now().toString();
        BackupManifest described = new BackupManifest(BackupManifest.FORMAT, "prod-a-20260101T000000.000Z-r" + info.revision(), "prod-a",
                "cafe", List.of(), info.revision(), info.compactRevision(), BoltSnapshot.hashKv(snapshot), info.totalKeys(), "3.4.23",
                bytes.length, digest.hex(), null, 0, null, null, takenAt, "copy-a", -1, null, null);
        backup = takerStore.store(described, snapshot, signer(taker));
    }

    @AfterEach
    void stop() {
        Stream.of(taker, holder, third).filter(java.util.Objects::nonNull).forEach(AgentFixture::close);
    }

    private static SigningIdentity signer(AgentFixture agent) throws Exception {
        return SigningIdentity.load(agent.config.tls().cert(), agent.config.tls().key());
    }

    private PeerCopies copiesOf(AgentFixture agent, BackupStore store) throws Exception {
        return new PeerCopies(store, signer(agent), agent.hostName, 1, 0, new RelayDialer(agent.config.tls()), Clock.systemUTC(),
                Optional.of("prod-a"));
    }

    private static BackupList list(AgentFixture agent, boolean deep) throws Exception {
        return BackupAgentGrpc.newBlockingStub(agent.channel(agent.certs.clientContext(agent.certs.coordinator)))
                .withDeadlineAfter(30, TimeUnit.SECONDS)
                .listBackups(ListBackupsRequest.newBuilder().setReadBack(deep).setDeep(deep).build());
    }

    private static List<String> names(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void theHolderChecksReadsBackAndSignsItsOwnManifestNamingTheTaker() throws Exception {
        BackupCopyResult r = copiesOf(taker, takerStore).pushTo(backup, holder.endpoint(), Duration.ofSeconds(30));

        assertThat(r.getHolder()).isEqualTo("copy-b");
        assertThat(r.getAlreadyHeld()).isFalse();
        BackupEntry copy = list(holder, true).getBackupsList().stream().filter(b -> b.getId().equals(backup.id())).findFirst().orElseThrow();
        assertThat(copy.getTrusted()).isTrue();
        assertThat(copy.getReadBackOk()).as("SHA-256, zstd, etcd's trailer, bbolt and HashKV: " + copy.getProblem()).isTrue();
        assertThat(copy.getCopyFrom()).isEqualTo("copy-a");
        assertThat(copy.getTakenBy()).isEqualTo("copy-a");
        assertThat(copy.getCopiedAt()).isEqualTo(r.getCopiedAt()).isNotEmpty();
        assertThat(copy.getFileSha256()).isEqualTo(backup.fileSha256());
        assertThat(Files.readAllBytes(tmp.resolve("b/backups").resolve(backup.file())))
                .isEqualTo(Files.readAllBytes(tmp.resolve("a/backups").resolve(backup.file())));
        String manifest = Files.readString(tmp.resolve("b/backups").resolve(backup.id() + ".manifest.json"));
        assertThat(manifest).as("signed with the holder's key").contains(
                dev.etcdrescue.pki.PublicKeyPins.spkiSha256(holder.certs.agent.certificate()));
        assertThat(names(tmp.resolve("b/backups"))).noneMatch(n -> n.endsWith(".part"));

        BackupCopyResult again = copiesOf(taker, takerStore).pushTo(backup, holder.endpoint(), Duration.ofSeconds(30));
        assertThat(again.getAlreadyHeld()).as("pushed twice: held once").isTrue();
    }

    @Test
    void aCopyThatDoesNotHashToItsManifestLeavesNothingOnTheHolder() throws Exception {
        Path file = tmp.resolve("a/backups").resolve(backup.file());
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(file, bytes);

        assertThatThrownBy(() -> copiesOf(taker, takerStore).pushTo(backup, holder.endpoint(), Duration.ofSeconds(30)))
                .hasMessageContaining("FAILED_PRECONDITION").hasMessageContaining("SHA-256");
        assertThat(names(tmp.resolve("b/backups"))).as("no part, no file, no manifest").isEmpty();
    }

    @Test
    void onlyTheTakerPushesItsOwnBackupAndOnlyAgentsMayPushAtAll() throws Exception {
        copiesOf(taker, takerStore).pushTo(backup, holder.endpoint(), Duration.ofSeconds(30));
        BackupStore holderStore = new BackupStore(tmp.resolve("b/backups"), taker.certs.fleet.certificate());
        BackupManifest held = holderStore.list().get(0).manifest();

        assertThatThrownBy(() -> copiesOf(holder, holderStore).pushTo(held, third.endpoint(), Duration.ofSeconds(30)))
                .hasMessageContaining("PERMISSION_DENIED").hasMessageContaining("is itself a copy (from copy-a)");
        // The taker's own manifest, pushed by another agent: refused, the manifest names its taker.
        assertThatThrownBy(() -> sendAs(holder, third, Files.readAllBytes(tmp.resolve("a/backups").resolve(backup.id() + ".manifest.json"))))
                .hasMessageContaining("agent copy-b pushed backup " + backup.id() + ", which copy-a took");
        assertThat(names(tmp.resolve("c/backups"))).isEmpty();

        StatusRuntimeException coordinator = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                () -> sendWith(third, third.certs.clientContext(third.certs.coordinator), Files.readAllBytes(
                        tmp.resolve("a/backups").resolve(backup.id() + ".manifest.json"))));
        assertThat(coordinator.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(coordinator.getStatus().getDescription()).contains("only peer agents (OU=agent) push copies");

        StatusRuntimeException agentListing = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                () -> BackupAgentGrpc.newBlockingStub(third.channel(TlsContexts.grpcClient(taker.certs.agent, taker.certs.fleet.certificate())))
                        .withDeadlineAfter(10, TimeUnit.SECONDS).listBackups(ListBackupsRequest.getDefaultInstance()));
        assertThat(agentListing.getStatus().getCode()).as("an agent may call StoreBackupCopy and RelaySnapshot, nothing else")
                .isEqualTo(Status.Code.PERMISSION_DENIED);
    }

    private static BackupCopyResult sendAs(AgentFixture from, AgentFixture to, byte[] manifest) throws Exception {
        return sendWith(to, TlsContexts.grpcClient(from.certs.agent, from.certs.fleet.certificate()), manifest);
    }

    /** A copy's first message alone, then the end: enough for the holder to judge the manifest and its sender. */
    private static BackupCopyResult sendWith(AgentFixture to, io.netty.handler.ssl.SslContext tls, byte[] manifest) throws Exception {
        CompletableFuture<BackupCopyResult> result = new CompletableFuture<>();
        StreamObserver<BackupCopyChunk> out = BackupAgentGrpc.newStub(to.channel(tls)).withDeadlineAfter(10, TimeUnit.SECONDS)
                .storeBackupCopy(new StreamObserver<>() {
                    @Override
                    public void onNext(BackupCopyResult value) {
                        result.complete(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        result.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {}
                });
        out.onNext(BackupCopyChunk.newBuilder().setManifest(com.google.protobuf.ByteString.copyFrom(manifest)).build());
        out.onNext(BackupCopyChunk.newBuilder().setLast(true).build());
        out.onCompleted();
        try {
            return result.get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }
}
