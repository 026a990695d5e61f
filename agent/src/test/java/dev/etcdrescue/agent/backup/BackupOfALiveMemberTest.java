package dev.etcdrescue.agent.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.agent.config.BackupConfig;
import dev.etcdrescue.agent.io.ProcessRunner;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.SigningIdentity;
import dev.etcdrescue.testsupport.FreePorts;
import dev.etcdrescue.testsupport.LocalEtcd;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backups of a real etcd 3.4 member with history and a compaction: taken, checked against the member's own
 * HashKV, stored compressed with a signed manifest, and restored by etcd into a new member that holds the
 * same data. Tampering with the file or the manifest is found.
 */
@Tag("etcd")
@Timeout(120)
class BackupOfALiveMemberTest {
    private static final Duration INTERVAL = Duration.ofMinutes(10);
    @TempDir static Path dir;
    static LocalEtcd etcd;
    static CertificateAuthority ca;
    static SigningIdentity signer;

    @BeforeAll
    static void member() throws Exception {
        etcd = LocalEtcd.start(dir, "live");
        for (int i = 0; i < 200; i++) {
            etcd.etcdctl("put", "/registry/pods/p" + (i % 60), "v" + i);
        }
        etcd.etcdctl("del", "/registry/pods/p7");
        etcd.etcdctl("compact", "150", "--physical");
        etcd.etcdctl("put", "/registry/pods/p3", "after-compaction");
        ca = CertificateAuthority.create("fleet", Duration.ofDays(1));
        IssuedCertificate agent = ca.issueAgent("node-1", List.of("127.0.0.1"), Duration.ofDays(1));
        signer = new SigningIdentity(agent.certificate(), agent.privateKey());
    }

    @AfterAll
    static void stop() {
        if (etcd != null) {
            etcd.close();
        }
    }

    private static BackupConfig config(Path backups) {
        return new BackupConfig(INTERVAL, backups, Optional.of("prod-a"),
                new BackupConfig.EtcdAccess(etcd.clientUrl(), Optional.empty(), Optional.empty(), Optional.empty()),
                new BackupConfig.Retention(2, 0, 0, 0), Optional.empty(), 1);
    }

    private static LocalEtcdctl etcdctl(BackupConfig config) {
        return new LocalEtcdctl(LocalEtcd.ETCDCTL, config.etcd(), new ProcessRunner());
    }

    private static Clock at(Instant t) {
        return Clock.fixed(t, ZoneOffset.UTC);
    }

    @Test
    void aBackupHoldsTheMembersDataAndEtcdRestoresIt(@TempDir Path own) throws Exception {
        BackupConfig config = config(own.resolve("backups"));
        BackupStore store = new BackupStore(config.dir(), ca.certificate());
        LocalEtcdctl etcdctl = etcdctl(config);
        BackupTaker taker = new BackupTaker(config, "node-1", etcdctl, store, signer, own.resolve("staging"), Clock.systemUTC());

        BackupManifest m = taker.take(7, etcdctl.view());

        assertThat(m.cluster()).isEqualTo("prod-a");
        assertThat(m.members()).hasSize(1).first().satisfies(member -> assertThat(member.name()).isEqualTo("live"));
        assertThat(m.compactRevision()).isEqualTo(150);
        assertThat(m.revision()).isEqualTo(1 + 200 + 1 + 1);
        assertThat(m.hashKv()).as("equal to etcd's own answer").isEqualTo(hashKv(etcd, m.revision()));
        assertThat(m.fileSize()).isLessThan(m.snapshotSize());
        assertThat(store.list()).singleElement().satisfies(l -> assertThat(l.trusted()).isTrue());
        assertThat(store.verify(m)).isEmpty();
        assertThat(Files.list(own.resolve("staging")).toList()).as("no snapshot left in staging").isEmpty();

        Path snapshot = own.resolve("restored.db");
        store.extract(m, snapshot);
        Path data = own.resolve("restored.etcd");
        int client = FreePorts.loopback();
        int peer = FreePorts.loopback();
        run(LocalEtcd.ETCDCTL.toString(), "snapshot", "restore", snapshot.toString(), "--data-dir", data.toString(), "--name", "r",
                "--initial-cluster", "r=http://127.0.0.1:" + peer, "--initial-advertise-peer-urls", "http://127.0.0.1:" + peer);
        try (LocalEtcd restored = LocalEtcd.startRestored(data, "r", client, peer, own.resolve("r.log"))) {
            assertThat(hashKv(restored, m.revision())).as("the restored member's HashKV at the backup's revision").isEqualTo(m.hashKv());
            assertThat(restored.etcdctl("get", "/registry/pods/p3", "--print-value-only").strip()).isEqualTo("after-compaction");
            assertThat(restored.etcdctl("get", "/registry/pods/p7").strip()).isEmpty();
        }
    }

    @Test
    void aChangedFileOrManifestIsFound(@TempDir Path own) throws Exception {
        BackupConfig config = config(own.resolve("backups"));
        BackupStore store = new BackupStore(config.dir(), ca.certificate());
        LocalEtcdctl etcdctl = etcdctl(config);
        BackupManifest m = new BackupTaker(config, "node-1", etcdctl, store, signer, own.resolve("staging"), Clock.systemUTC())
                .take(8, etcdctl.view());

        Path data = config.dir().resolve(m.file());
        byte[] bytes = Files.readAllBytes(data);
        bytes[bytes.length / 2] ^= 0x40;
        Files.write(data, bytes);
        assertThat(store.verify(m)).get().asString().contains("SHA-256");

        Path manifest = config.dir().resolve(m.id() + BackupStore.MANIFEST);
        JsonNode envelope = new ObjectMapper().readTree(Files.readAllBytes(manifest));
        String payload = new String(Base64.getDecoder().decode(envelope.get("payload").asText()), StandardCharsets.UTF_8);
        String forged = payload.replace("\"revision\":" + m.revision(), "\"revision\":" + (m.revision() + 1));
        ((com.fasterxml.jackson.databind.node.ObjectNode) envelope).put("payload",
                Base64.getEncoder().encodeToString(forged.getBytes(StandardCharsets.UTF_8)));
        Files.write(manifest, new ObjectMapper().writeValueAsBytes(envelope));
        assertThat(store.list()).singleElement().satisfies(l -> {
            assertThat(l.trusted()).isFalse();
            assertThat(l.problem()).contains("signature refused");
        });

        BackupStore otherFleet = new BackupStore(config.dir(), CertificateAuthority.create("other", Duration.ofDays(1)).certificate());
        assertThat(otherFleet.list()).singleElement().satisfies(l -> assertThat(l.trusted()).isFalse());
    }

    @Test
    void theSchedulerTakesOneBackupPerSlotNeverWhileClaimedAndRetentionKeepsTheNewest(@TempDir Path own) throws Exception {
        BackupConfig config = config(own.resolve("backups"));
        BackupStore store = new BackupStore(config.dir(), ca.certificate());
        LocalEtcdctl etcdctl = etcdctl(config);
        AtomicBoolean claimed = new AtomicBoolean(true);
        Instant t0 = Instant.parse("2026-12-05T03:00:00Z");
        Instant[] now = {t0};
        Clock clock = new Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return now[0];
            }
        };
        BackupTaker taker = new BackupTaker(config, "node-1", etcdctl, store, signer, own.resolve("staging"), clock);
        PeerCopies noCopies = new PeerCopies(store, signer, "node-1", 0, 7443, new dev.etcdrescue.agent.transfer.RelayDialer(null), clock,
                Optional.empty());
        BackupScheduler scheduler = new BackupScheduler(config, etcdctl, store, taker, noCopies, drills(store, own), claimed::get, clock,
                own.resolve("staging"));

        scheduler.tick();
        assertThat(store.list()).as("claimed by a recovery: no backup").isEmpty();
        assertThat(scheduler.lastResult()).contains("claimed");

        claimed.set(false);
        scheduler.tick();
        scheduler.tick();
        assertThat(store.list()).as("one backup for the slot").hasSize(1);
        for (int slot = 1; slot <= 3; slot++) {
            now[0] = t0.plus(INTERVAL.multipliedBy(slot));
            etcd.etcdctl("put", "/registry/pods/slot", Integer.toString(slot));
            scheduler.tick();
        }
        List<BackupStore.Listed> left = store.list();
        assertThat(left).as("retention keeps the newest 2").hasSize(2);
        assertThat(left).allSatisfy(l -> assertThat(l.trusted()).isTrue());
        assertThat(left.stream().mapToLong(l -> l.manifest().slot()).max().orElseThrow())
                .isEqualTo(SlotTurn.slot(now[0], INTERVAL));
        assertThat(scheduler.lastResult()).contains("took", "retention removed");

        java.io.ByteArrayOutputStream text = new java.io.ByteArrayOutputStream();
        io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter.create().write(text, BackupMetrics.of(scheduler),
                io.prometheus.metrics.config.EscapingScheme.UNDERSCORE_ESCAPING);
        assertThat(text.toString(StandardCharsets.UTF_8)).contains(
                "etcd_rescue_backup_count{cluster=\"prod-a\",state=\"trusted\"} 2.0",
                "etcd_rescue_backup_newest_timestamp_seconds{cluster=\"prod-a\"} " + (double) now[0].getEpochSecond(),
                "etcd_rescue_backup_failures_total{cluster=\"prod-a\"} 0.0",
                "etcd_rescue_backup_last_size_bytes{cluster=\"prod-a\",kind=\"stored\"}");
    }

    @Test
    void aMemberThatDoesNotAnswerGivesAnErrorAndNoFile(@TempDir Path own) {
        BackupConfig config = new BackupConfig(INTERVAL, own.resolve("backups"), Optional.empty(),
                new BackupConfig.EtcdAccess(java.net.URI.create("http://127.0.0.1:" + FreePorts.loopback()), Optional.empty(),
                        Optional.empty(), Optional.empty()), BackupConfig.Retention.DEFAULT, Optional.empty(), 1);
        assertThatThrownBy(() -> etcdctl(config).view()).hasMessageContaining("etcdctl member list against http://127.0.0.1:");
        assertThat(own.resolve("backups")).doesNotExist();
    }

    private static RestoreDrill drills(BackupStore store, Path own) {
        ProcessRunner runner = new ProcessRunner();
        return new RestoreDrill(new dev.etcdrescue.agent.restore.RestoreTools(List.of(Path.of("/usr/bin")), runner, Duration.ofMinutes(1)),
                runner, own.resolve("staging"), store, Clock.systemUTC(), Duration.ofMinutes(2));
    }

    @Test
    void aDrillRestoresTheBackupIntoAThrowawayMemberAndRemovesIt(@TempDir Path own) throws Exception {
        BackupConfig config = config(own.resolve("backups"));
        BackupStore store = new BackupStore(config.dir(), ca.certificate());
        LocalEtcdctl etcdctl = etcdctl(config);
        BackupManifest m = new BackupTaker(config, "node-1", etcdctl, store, signer, own.resolve("staging"), Clock.systemUTC())
                .take(9, etcdctl.view());
        String before = etcd.etcdctl("endpoint", "status", "-w", "json");

        RestoreDrill.Result r = drills(store, own).drill(m);

        assertThat(r.problem()).isNull();
        assertThat(r.ok()).isTrue();
        assertThat(r.hashKv()).isEqualTo(m.hashKv());
        assertThat(r.seconds()).isPositive();
        assertThat(RestoreDrill.last(config.dir(), m.id())).contains(r);
        assertThat(Files.list(own.resolve("staging")).toList()).as("the drill's dir is gone").isEmpty();
        assertThat(new ObjectMapper().readTree(etcd.etcdctl("endpoint", "status", "-w", "json")).get(0).get("Status").get("header")
                .get("member_id")).as("the live member is the same one").isEqualTo(new ObjectMapper().readTree(before).get(0)
                .get("Status").get("header").get("member_id"));

        Path data = config.dir().resolve(m.file());
        byte[] bytes = Files.readAllBytes(data);
        bytes[bytes.length - 10] ^= 0x20;
        Files.write(data, bytes);
        RestoreDrill.Result broken = drills(store, own).drill(m);
        assertThat(broken.ok()).isFalse();
        assertThat(broken.problem()).containsAnyOf("is damaged", "SHA-256");
    }

    /** A backup of etcd 3.4.23 is drilled with etcd 3.5.16's etcdutl and etcd: what an upgrade after a loss restores with. */
    @Test
    void aBackupTakenOnEtcd34IsRestoredAndServedByEtcd35(@TempDir Path own) throws Exception {
        Path tools35 = Path.of(System.getProperty("user.dir")).resolve("../.tools/etcd-3.5.16/bin").normalize();
        assumeTrue(Files.isExecutable(tools35.resolve("etcdutl")) && Files.isExecutable(tools35.resolve("etcd")),
                "etcd 3.5.16 is not in " + tools35 + " (testbed/fetch-etcd-3.5.sh)");
        BackupConfig config = config(own.resolve("backups"));
        BackupStore store = new BackupStore(config.dir(), ca.certificate());
        LocalEtcdctl etcdctl = etcdctl(config);
        BackupManifest m = new BackupTaker(config, "node-1", etcdctl, store, signer, own.resolve("staging"), Clock.systemUTC())
                .take(11, etcdctl.view());
        assertThat(m.etcdVersion()).startsWith("3.4.");
        ProcessRunner runner = new ProcessRunner();
        dev.etcdrescue.agent.restore.RestoreTools tools = new dev.etcdrescue.agent.restore.RestoreTools(List.of(tools35), runner,
                Duration.ofMinutes(1));
        assertThat(tools.detect()).get().satisfies(t -> assertThat(t.version()).isEqualTo("3.5.16"));

        RestoreDrill.Result r = new RestoreDrill(tools, runner, own.resolve("staging"), store, Clock.systemUTC(), Duration.ofMinutes(2))
                .drill(m);

        assertThat(r.ok()).as(String.valueOf(r.problem())).isTrue();
        assertThat(r.hashKv()).as("etcd 3.5.16's HashKV at the backup's revision").isEqualTo(m.hashKv());
        assertThat(Files.list(own.resolve("staging")).toList()).as("the drill's dir is gone").isEmpty();
    }

    private static long hashKv(LocalEtcd member, long revision) throws Exception {
        return new ObjectMapper().readTree(member.etcdctl("endpoint", "hashkv", "--rev", Long.toString(revision), "-w", "json"))
                .get(0).get("HashKV").get("hash").asLong();
    }

    private static void run(String... argv) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
        pb.environment().put("ETCDCTL_API", "3");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
    }
}
