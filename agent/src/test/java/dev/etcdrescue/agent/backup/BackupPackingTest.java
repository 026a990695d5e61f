package dev.etcdrescue.agent.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.SigningIdentity;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import dev.etcdrescue.snapshotformat.bolt.BoltSnapshot;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backup's file passes over a real 24 KB etcd snapshot: packing reads it once for its digest, etcd's trailer and
 * zstd; the stored backup reads back against its manifest; a packed file whose checks failed, or one an agent left
 * mid-way, is not kept; the bbolt walk gives the status and the file's HashKV in one opening, telling the revision
 * between the two.
 */
@Timeout(60)
class BackupPackingTest {
    @TempDir
    Path dir;
    private Path snapshot;
    private byte[] bytes;
    private BackupStore store;
    private SigningIdentity signer;

    @BeforeEach
    void aRealSnapshot() throws Exception {
        CertificateAuthority ca = CertificateAuthority.create("fleet", Duration.ofDays(1));
        IssuedCertificate agent = ca.issueAgent("node-1", List.of("127.0.0.1"), Duration.ofDays(1));
        signer = new SigningIdentity(agent.certificate(), agent.privateKey());
        snapshot = dir.resolve("snapshot.db");
        try (InputStream in = getClass().getResourceAsStream("/snapshots/etcd-3.4.23-revision-41.db")) {
            Files.copy(in, snapshot);
        }
        bytes = Files.readAllBytes(snapshot);
        store = new BackupStore(dir.resolve("backups"), ca.certificate());
    }

    @Test
    void packingReadsTheSnapshotOnceAndTheStoredBackupReadsBack() throws Exception {
        SnapshotDigest expected = new SnapshotDigest();
        expected.update(bytes, 0, bytes.length);

        BackupStore.Packed packed = store.pack(snapshot);

        assertThat(packed.snapshot().hex()).isEqualTo(expected.hex());
        assertThat(packed.snapshot().trailer()).isEqualTo(SnapshotDigest.Trailer.VALID);
        assertThat(packed.part()).exists();
        BackupManifest stored = store.store(manifest("b1", expected.hex()), packed, signer);
        assertThat(packed.part()).doesNotExist();
        assertThat(store.list()).singleElement().satisfies(l -> assertThat(l.trusted()).as(String.valueOf(l.problem())).isTrue());
        assertThat(store.verify(stored)).isEmpty();
        assertThat(stored.fileSize()).isEqualTo(Files.size(store.dir().resolve("b1" + BackupStore.DATA)));
    }

    @Test
    void aDiscardedPackAndOneLeftMidwayAreNotKept() throws Exception {
        BackupStore.Packed refused = store.pack(snapshot);
        store.discard(refused);
        assertThat(refused.part()).doesNotExist();

        Path leftMidway = store.dir().resolve(".packing-dead" + BackupStore.DATA + ".part");
        Files.write(leftMidway, new byte[] {1, 2, 3});
        BackupStore.Packed next = store.pack(snapshot);
        assertThat(leftMidway).doesNotExist();
        try (Stream<Path> files = Files.list(store.dir())) {
            assertThat(files).containsExactly(next.part());
        }
        assertThat(store.list()).as("a packed file without its manifest is never listed").isEmpty();
    }

    /** As etcdctl does: the .part written in pieces, fsynced, renamed; packing follows it and gets every byte. */
    @Test
    void aSnapshotIsPackedWhileItIsWrittenAndRenamed() throws Exception {
        Path target = dir.resolve("growing.db");
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            try (FileChannel out = FileChannel.open(GrowingSnapshot.partOf(target), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                for (int at = 0; at < bytes.length; at += 4096) {
                    out.write(ByteBuffer.wrap(bytes, at, Math.min(4096, bytes.length - at)));
                    Thread.sleep(2);
                }
                out.force(true);
                Files.move(GrowingSnapshot.partOf(target), target);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        BackupStore.Packed packed;
        try (GrowingSnapshot growing = new GrowingSnapshot(target, writer)) {
            packed = store.pack(growing);
        }
        SnapshotDigest expected = new SnapshotDigest();
        expected.update(bytes, 0, bytes.length);
        assertThat(packed.snapshot().hex()).isEqualTo(expected.hex());
        assertThat(packed.snapshot().trailer()).isEqualTo(SnapshotDigest.Trailer.VALID);
    }

    @Test
    void aWriterThatFailsMidwayLeavesNoPackedFile() throws Exception {
        Path target = dir.resolve("failing.db");
        Files.write(GrowingSnapshot.partOf(target), java.util.Arrays.copyOf(bytes, bytes.length / 2));
        CompletableFuture<Void> writer = CompletableFuture.failedFuture(new java.io.IOException("etcdctl snapshot save: member gone"));
        try (GrowingSnapshot growing = new GrowingSnapshot(target, writer)) {
            assertThatThrownBy(() -> store.pack(growing)).hasMessageContaining("member gone");
        }
        try (Stream<Path> files = Files.list(store.dir())) {
            assertThat(files).as("nothing packed is kept").isEmpty();
        }
    }

    @Test
    void oneOpeningGivesTheStatusThenTheFilesHashKv() throws Exception {
        AtomicLong told = new AtomicLong(-1);
        BoltSnapshot.Inspected inspected = BoltSnapshot.inspect(snapshot, info -> told.set(info.revision()));

        assertThat(inspected.info().revision()).isEqualTo(41);
        assertThat(told.get()).isEqualTo(41);
        assertThat(inspected.info()).isEqualTo(BoltSnapshot.read(snapshot));
    }

    private BackupManifest manifest(String id, String sha256) {
        return new BackupManifest(BackupManifest.FORMAT, id, "prod-a", "cafe", List.of(), 41, -1, 0, 10, "3.4.23",
                bytes.length, sha256, null, 0, null, null, "2026-12-06T05:00:00Z", "node-1", -1, null, null);
    }
}
