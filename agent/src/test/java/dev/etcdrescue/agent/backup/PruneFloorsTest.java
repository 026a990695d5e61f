package dev.etcdrescue.agent.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.agent.config.BackupConfig;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.SigningIdentity;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prune on demand over real stored backups (a real 24 KB etcd snapshot, signed manifests): a dry run removes nothing;
 * the newest backups are read back first, so a newest one whose file changed is left alone and the floor "the newest
 * verified backup" falls on the newest that reads back whole; the newest a drill restored stays too.
 */
@Timeout(60)
class PruneFloorsTest {
    private static final Instant NOW = Instant.parse("2026-12-05T12:00:00Z");

    @Test
    void aDryRunListsWhatWouldGoAndTheFloorsHoldWhenTheNewestFileIsDamaged(@TempDir Path dir) throws Exception {
        CertificateAuthority ca = CertificateAuthority.create("fleet", Duration.ofDays(1));
        IssuedCertificate agent = ca.issueAgent("node-1", List.of("127.0.0.1"), Duration.ofDays(1));
        SigningIdentity signer = new SigningIdentity(agent.certificate(), agent.privateKey());
        Path snapshot = dir.resolve("snapshot.db");
        try (InputStream in = getClass().getResourceAsStream("/snapshots/etcd-3.4.23-revision-41.db")) {
            Files.copy(in, snapshot);
        }
        byte[] bytes = Files.readAllBytes(snapshot);
        SnapshotDigest digest = new SnapshotDigest();
        digest.update(bytes, 0, bytes.length);
        BackupStore store = new BackupStore(dir.resolve("backups"), ca.certificate());
        for (int i = 0; i < 6; i++) {
            Instant at = NOW.minus(Duration.ofMinutes(10L * (6 - i)));
            store.store(new BackupManifest(BackupManifest.FORMAT, "b" + i, "prod-a", "cafe", List.of(), 41, -1, 0, 10, "3.4.23",
                    bytes.length, digest.hex(), null, 0, null, null, at.toString(), "node-1", -1, null, null), snapshot, signer);
        }
        // b1 was drilled long ago; b5 (the newest) changed on disk.
        Files.writeString(store.dir().resolve("b1" + RestoreDrill.DRILL), """
                {"id":"b1","at":"2026-12-05T11:00:00Z","ok":true,"seconds":1.0,"revision":41,"hashKv":0,"problem":null}
                """);
        Path newest = store.dir().resolve("b5" + BackupStore.DATA);
        byte[] file = Files.readAllBytes(newest);
        file[file.length / 2] ^= 0x01;
        Files.write(newest, file);
        BackupConfig config = new BackupConfig(Duration.ofMinutes(10), store.dir(), Optional.empty(),
                new BackupConfig.EtcdAccess(URI.create("http://127.0.0.1:9"), Optional.empty(), Optional.empty(), Optional.empty()),
                new BackupConfig.Retention(1, 0, 0, 0), Optional.empty(), 1);
        BackupTaker taker = new BackupTaker(config, "node-1", null, store, signer, dir.resolve("staging"), Clock.fixed(NOW, ZoneOffset.UTC));

        BackupTaker.Pruned dry = taker.prune(true, true);

        assertThat(dry.leftAlone()).containsOnlyKeys("b5");
        assertThat(dry.leftAlone().get("b5")).startsWith("does not read back: ");
        assertThat(dry.keep()).containsEntry("b4", "the newest verified backup").containsEntry("b1", "the newest backup a drill restored");
        assertThat(dry.remove()).containsExactlyInAnyOrder("b0", "b2", "b3");
        assertThat(store.list()).as("a dry run removes nothing").hasSize(6);

        BackupTaker.Pruned done = taker.prune(false, true);

        assertThat(done.remove()).isEqualTo(dry.remove());
        assertThat(store.list()).extracting(BackupStore.Listed::id).containsExactly("b1", "b4", "b5");
    }
}
