package dev.etcdrescue.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.backup.BackupManifest;
import dev.etcdrescue.agent.backup.BackupStore;
import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.pki.SigningIdentity;
import dev.etcdrescue.proto.v1.TakeSnapshotRequest;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import dev.etcdrescue.snapshotformat.bolt.BoltSnapshot;
import dev.etcdrescue.snapshotformat.bolt.SnapshotInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * TakeSnapshot with a backup id ({@code recover --from-backup}, agent to agent): an in-process agent with backups
 * configured and a real stored backup of an etcd 3.4 snapshot, called over real mTLS by the coordinator under its claim.
 * The agent reads the backup back against its signed manifest, unpacks it and stages it under its digest's id, with
 * etcd's snapshot status, as a snapshot of its member; a damaged backup is refused and nothing is staged.
 */
@Tag("etcd")
@Timeout(60)
class BackupStagingTest {
    private static final String OP = "op-from-backup";
    @TempDir
    Path tmp;
    private AgentFixture agent;
    private BackupManifest backup;
    private Path snapshot;
    private SnapshotInfo info;

    @BeforeEach
    void anAgentWithAStoredBackup() throws Exception {
        agent = AgentFixture.peer(tmp.resolve("a"), "stage-a", null, """
                backup:
                  interval: PT10M
                  dir: %s
                  cluster: prod-a
                  etcd: {endpoint: "http://127.0.0.1:9"}
                """.formatted(tmp.resolve("a/backups")));
        snapshot = tmp.resolve("snapshot.db");
        try (InputStream in = getClass().getResourceAsStream("/snapshots/etcd-3.4.23-revision-41.db")) {
            Files.copy(in, snapshot);
        }
        info = BoltSnapshot.read(snapshot);
        SnapshotDigest digest = new SnapshotDigest();
        byte[] bytes = Files.readAllBytes(snapshot);
        digest.update(bytes, 0, bytes.length);
        BackupStore store = new BackupStore(tmp.resolve("a/backups"), agent.certs.fleet.certificate());
        BackupManifest described = new BackupManifest(BackupManifest.FORMAT, "prod-a-20260101T000000.000Z-r" + info.revision(), "prod-a",
                "cafe", List.of(), info.revision(), info.compactRevision(), BoltSnapshot.hashKv(snapshot), info.totalKeys(), "3.4.23",
                bytes.length, digest.hex(), null, 0, null, null, Instant.now().toString(), "stage-a", -1, null, null);
        backup = store.store(described, snapshot, SigningIdentity.load(agent.config.tls().cert(), agent.config.tls().key()));
    }

    @AfterEach
    void stop() {
        if (agent != null) {
            agent.close();
        }
    }

    private TransferResult stage(String id) throws Exception {
        return agent.coordinator().takeSnapshot(TakeSnapshotRequest.newBuilder().setHeader(agent.headerFor(OP)).setBackupId(id).build());
    }

    @Test
    void theBackupIsReadBackUnpackedAndStagedUnderItsDigest() throws Exception {
        agent.claim(OP);

        TransferResult staged = stage(backup.id());

        assertThat(staged.getSha256()).as("the digest the manifest names").isEqualTo(backup.snapshotSha256());
        assertThat(staged.getSize()).isEqualTo(backup.snapshotSize());
        assertThat(staged.getTransferId()).isEqualTo("sha256-" + backup.snapshotSha256().substring(0, 32));
        assertThat(staged.getHasHashTrailer()).isTrue();
        assertThat(staged.getSnapshotStatus().getRevision()).as("etcd's own snapshot status").isEqualTo(info.revision());
        assertThat(staged.getSnapshotStatus().getTotalKeys()).isEqualTo(info.totalKeys());
        Path file = agent.config.stagingDir().resolve(staged.getTransferId() + ".db");
        assertThat(Path.of(staged.getStagedPath())).isEqualTo(file);
        assertThat(Files.readAllBytes(file)).isEqualTo(Files.readAllBytes(snapshot));
        assertThat(names(agent.config.stagingDir())).as("no unpacked temp left").allMatch(n -> !n.startsWith("backup-unpack-"));

        TransferResult again = stage(backup.id());
        assertThat(again.getStagedPath()).as("asked again: the file already staged stands").isEqualTo(staged.getStagedPath());
    }

    @Test
    void aDamagedBackupIsRefusedAndNothingIsStaged() throws Exception {
        Path file = tmp.resolve("a/backups").resolve(backup.file());
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(file, bytes);
        agent.claim(OP);

        assertThatThrownBy(() -> stage(backup.id())).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
            assertThat(e.getStatus().getDescription()).contains("backup " + backup.id()).contains("does not read back")
                    .contains("nothing was staged");
        });
        assertThatThrownBy(() -> stage("prod-a-20250101T000000.000Z-r1")).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getDescription()).contains("no backup prod-a-20250101T000000.000Z-r1"));
        assertThat(names(agent.config.stagingDir())).as("no staged file, no announcement, no temp").noneMatch(n -> n.endsWith(".db")
                || n.endsWith(".json") || n.startsWith("backup-unpack-"));
    }

    @Test
    void withoutTheClaimNothingIsRead() throws Exception {
        assertThatThrownBy(() -> stage(backup.id())).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));
        assertThat(names(agent.config.stagingDir())).noneMatch(n -> n.endsWith(".db"));
    }

    private static List<String> names(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
