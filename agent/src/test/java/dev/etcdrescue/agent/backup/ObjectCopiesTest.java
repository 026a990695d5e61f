package dev.etcdrescue.agent.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.config.BackupConfig;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.SigningIdentity;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import dev.etcdrescue.testsupport.S3Proxy;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The copy in object storage against a real S3-compatible server (s3proxy, its own process, on loopback): uploaded in parts
 * streamed from the file, read back, the manifest last; a flipped byte in the stored object is found when it is read back;
 * the server SIGKILLed mid-upload leaves no manifest, counts the failure, keeps the local backup, and the next backup
 * uploads once the server is back.
 */
@Timeout(120)
class ObjectCopiesTest {
    private static final long PART = 5L << 20;
    @TempDir static Path dir;
    static S3Proxy s3;
    static SigningIdentity signer;
    static CertificateAuthority ca;
    static BackupConfig.S3 config;
    static Path credentials;

    @BeforeAll
    static void start() throws Exception {
        s3 = S3Proxy.start(Files.createDirectories(dir.resolve("s3proxy")), "127.0.0.1");
        ca = CertificateAuthority.create("fleet", Duration.ofDays(1));
        IssuedCertificate agent = ca.issueAgent("node-1", List.of("127.0.0.1"), Duration.ofDays(1));
        signer = new SigningIdentity(agent.certificate(), agent.privateKey());
        credentials = s3.credentialsFile(Files.createDirectories(dir.resolve("secrets")));
    }

    /** Each test under its own prefix of the one bucket. */
    @org.junit.jupiter.api.BeforeEach
    void prefix(org.junit.jupiter.api.TestInfo test) {
        config = new BackupConfig.S3(Optional.of(s3.endpoint()), S3Proxy.BUCKET, test.getTestMethod().orElseThrow().getName() + "/",
                "us-east-1", true, credentials);
    }

    @AfterEach
    void storeRunning() throws Exception {
        s3.ensureRunning();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (s3 != null) {
            s3.close();
        }
    }

    private static BackupStore store(String name) throws IOException {
        return new BackupStore(Files.createDirectories(dir.resolve(name)), ca.certificate());
    }

    /** A backup of {@code bytes} random bytes (they do not compress, so the stored file is as large). */
    private static BackupManifest backup(BackupStore store, String id, int bytes) throws IOException {
        byte[] data = new byte[bytes];
        new Random(id.hashCode()).nextBytes(data);
        Path snapshot = dir.resolve(id + ".snapshot");
        Files.write(snapshot, data);
        MessageDigest sha = SnapshotDigest.newSha256();
        String hex = HexFormat.of().formatHex(sha.digest(data));
        BackupManifest described = new BackupManifest(BackupManifest.FORMAT, id, "prod-a", "c0ffee", List.of(), 42, -1, 7, 3, "3.5.16",
                bytes, hex, null, 0, null, null, Instant.now().toString(), "node-1", -1, null, null);
        return store.store(described, snapshot, signer);
    }

    private static Path object(String key) {
        return s3.blobs().resolve(S3Proxy.BUCKET).resolve(config.prefix() + key.substring("etcd/".length()));
    }

    private static ObjectCatalogue catalogue(ObjectCopies objects, BackupStore store) throws IOException {
        return new ObjectCatalogue(objects, store, Files.createDirectories(dir.resolve("staging")), "prod-a");
    }

    @Test
    void uploadedInPartsReadBackManifestLastAndAFlippedByteIsRefused() throws Exception {
        BackupStore store = store("a");
        BackupManifest m = backup(store, "prod-a-1-r42", 12 << 20);
        List<String> seenAfterParts = new java.util.ArrayList<>();
        S3Copies objects = new S3Copies(config, "prod-a", () -> seenAfterParts.add(
                String.valueOf(Files.exists(object("etcd/prod-a/prod-a-1-r42.manifest.json")))), PART);

        ObjectCopies.Uploaded u = objects.upload(m, store.dir().resolve(m.file()), store.manifestBytes(m.id()));

        System.out.printf("uploaded %d bytes in %d parts in %.2f s: %.1f MB/s%n", u.bytes(), u.parts(), u.seconds(),
                u.bytes() / 1e6 / u.seconds());
        assertThat(u.parts()).isEqualTo(3);
        // While the parts went up, no manifest stood there yet: it is written after the file read back whole.
        assertThat(seenAfterParts).containsExactly("false", "false", "false");
        assertThat(Files.readAllBytes(object("etcd/prod-a/prod-a-1-r42.manifest.json"))).isEqualTo(store.manifestBytes(m.id()));
        assertThat(Files.size(object("etcd/prod-a/prod-a-1-r42.db.zst"))).isEqualTo(m.fileSize());
        ObjectCatalogue catalogue = catalogue(objects, store);
        List<ObjectCatalogue.Remote> listed = catalogue.list(true, false);
        assertThat(listed).singleElement().satisfies(r -> {
            assertThat(r.trusted()).isTrue();
            assertThat(r.readBackOk()).isTrue();
            assertThat(r.manifest().fileSha256()).isEqualTo(m.fileSha256());
        });

        // One byte flipped in the stored object (the store's own disk): reading it back finds it, by size and SHA-256.
        Path stored = object("etcd/prod-a/prod-a-1-r42.db.zst");
        byte[] bytes = Files.readAllBytes(stored);
        bytes[bytes.length / 2] ^= 0x40;
        Files.write(stored, bytes);
        ObjectCatalogue.Remote damaged = catalogue.list(true, false).get(0);
        assertThat(damaged.readBackOk()).isFalse();
        // zstd's own frame check, or else the file's SHA-256 against the manifest's, whichever the flipped byte trips first.
        assertThat(damaged.problem()).contains(m.file()).containsAnyOf("SHA-256 ", "zstd");
        // And staging it for a recovery refuses it the same way, leaving nothing in the scratch dir.
        Optional<String> staged = catalogue.readBack(damaged.manifest(), false);
        assertThat(staged).isPresent();
        try (Stream<Path> left = Files.list(dir.resolve("staging"))) {
            assertThat(left).isEmpty();
        }

        // A manifest object someone rewrote no longer holds its signature: not trusted, never read back.
        Path manifest = object("etcd/prod-a/prod-a-1-r42.manifest.json");
        Files.writeString(manifest, Files.readString(manifest).replace("\"payload\" : \"", "\"payload\" : \"e"));
        assertThat(catalogue.list(true, false)).singleElement().satisfies(r -> {
            assertThat(r.trusted()).isFalse();
            assertThat(r.problem()).contains("not trusted");
        });
    }

    @Test
    void aFailureAfterTheFileLeavesNeitherObject() throws Exception {
        BackupStore store = store("c");
        BackupManifest m = backup(store, "prod-a-3-r42", 1 << 20);
        S3Copies objects = new S3Copies(config, "prod-a", () -> {
            throw new IllegalStateException("failpoint backup.s3.afterPart: injected error");
        }, PART);

        assertThatThrownBy(() -> objects.upload(m, store.dir().resolve(m.file()), store.manifestBytes(m.id())))
                .hasMessageContaining("injected error");

        assertThat(object("etcd/prod-a/prod-a-3-r42.manifest.json")).doesNotExist();
        assertThat(object("etcd/prod-a/prod-a-3-r42.db.zst")).doesNotExist();
    }

    @Test
    void theStoreKilledMidUploadLeavesNoManifestAndTheNextBackupGoesUp() throws Exception {
        BackupStore store = store("b");
        BackupManifest first = backup(store, "prod-a-2-r42", 12 << 20);
        CountDownLatch firstPartDone = new CountDownLatch(1);
        CountDownLatch killed = new CountDownLatch(1);
        AtomicInteger parts = new AtomicInteger();
        S3Copies killedMidway = new S3Copies(config, "prod-a", () -> {
            if (parts.incrementAndGet() == 1) {
                firstPartDone.countDown();
                try {
                    killed.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }, PART);
        BackupScheduler scheduler = scheduler(store, killedMidway);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<Optional<String>> outcome = pool.submit(() -> scheduler.upload(first));
            assertThat(firstPartDone.await(60, TimeUnit.SECONDS)).isTrue();
            s3.kill();
            killed.countDown();
            Optional<String> line = outcome.get(60, TimeUnit.SECONDS);
            // Never thrown: the scheduler's outcome line says it, the failure is counted, and the local backup stands.
            assertThat(line).hasValueSatisfying(l -> assertThat(l).startsWith(config.location() + ": ").doesNotEndWith(": ok"));
        } finally {
            killed.countDown();
            pool.shutdownNow();
        }
        assertThat(scheduler.activity().objectFailures()).isEqualTo(1);
        assertThat(scheduler.activity().objectUploads()).isZero();
        assertThat(counter(scheduler, "failed")).isEqualTo(1.0);
        assertThat(store.verify(first)).isEmpty();
        assertThat(store.list()).singleElement().satisfies(l -> assertThat(l.trusted()).isTrue());

        s3.restart();
        ObjectCatalogue catalogue = catalogue(killedMidway, store);
        assertThat(catalogue.list(false, false)).isEmpty();
        try (Stream<Path> files = Files.walk(s3.blobs().resolve(S3Proxy.BUCKET))) {
            assertThat(files.map(Path::toString)).noneMatch(f -> f.contains(config.prefix()) && f.endsWith(".manifest.json"));
        }

        BackupManifest second = backup(store, "prod-a-3-r43", 6 << 20);
        assertThat(scheduler.upload(second)).hasValue(config.location() + ": ok");
        assertThat(scheduler.activity().objectUploads()).isEqualTo(1);
        assertThat(counter(scheduler, "ok")).isEqualTo(1.0);
        assertThat(catalogue.list(true, false)).singleElement().satisfies(r -> {
            assertThat(r.id()).isEqualTo("prod-a-3-r43");
            assertThat(r.readBackOk()).isTrue();
        });
    }

    private static BackupScheduler scheduler(BackupStore store, ObjectCopies objects) throws IOException {
        BackupConfig backup = new BackupConfig(Duration.ofMinutes(10), store.dir(), Optional.of("prod-a"),
                new BackupConfig.EtcdAccess(URI.create("http://127.0.0.1:2379"), Optional.empty(), Optional.empty(), Optional.empty()),
                BackupConfig.Retention.DEFAULT, Optional.empty(), 0, Optional.of(config));
        return new BackupScheduler(backup, null, store, null, null, null, () -> false, Clock.systemUTC(),
                Files.createDirectories(dir.resolve("staging")), Optional.of(objects));
    }

    private static double counter(BackupScheduler scheduler, String result) {
        for (MetricSnapshot s : BackupMetrics.of(scheduler)) {
            if (s instanceof CounterSnapshot c && c.getMetadata().getName().equals("etcd_rescue_backup_s3_uploads")) {
                return c.getDataPoints().stream().filter(d -> result.equals(d.getLabels().get("result"))).findFirst().orElseThrow()
                        .getValue();
            }
        }
        throw new AssertionError("no etcd_rescue_backup_s3_uploads in the metrics");
    }
}
