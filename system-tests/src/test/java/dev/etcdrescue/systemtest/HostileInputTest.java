package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Broken snapshot files given to {@code etcd-rescue recover} as snapshot_file: each is refused with
 * exit code 3 before any host is changed, with and without --allow-no-hash-trailer where that
 * matters. The class ends with the good backup recovering onto the same hosts (the positive control).
 * The agent's own refusals of such files and of hostile RPC fields are agent tests
 * (agent/.../it/HostileInputTest, TransferAndRestoreTest); a chunk corrupted in flight under the
 * right digest is RefusalsTest.chunkCorruptedInFlightUnderTheRightDigestIsRefusedByTheAgent.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 12, unit = TimeUnit.MINUTES)
class HostileInputTest {
    private Testbed testbed;
    private Path work;
    private Path pki;
    private Path backup;
    private byte[] good;
    private Map<String, String> written;

    @BeforeAll
    void twoHostsAndAGoodBackup() throws Exception {
        testbed = Testbed.create(2, Testbed.Options.defaults().withHostPrefix("hostile"));
        work = Files.createTempDirectory("etcd-rescue-hostile-");
        pki = work.resolve("pki");
        testbed.installAgents(pki);
        testbed.startOldCluster("old-hostile");
        written = new TreeMap<>(EtcdData.load(URI.create(Testbed.oldClientUrl(testbed.host(0))), "/hostile/", 300, 9));
        backup = work.resolve("backup.db");
        Cli.Result save = Cli.etcdRescue("snapshot", "save", "--endpoints", Testbed.oldClientUrl(testbed.host(0)), backup.toString());
        assertThat(save.exitCode()).as(save.all()).isZero();
        good = Files.readAllBytes(backup);
        for (TestHost h : testbed.hosts()) {
            testbed.killEtcdPermanently(h);
        }
    }

    @AfterAll
    void tearDown() {
        if (testbed != null) {
            testbed.close();
        }
    }

    enum BadSnapshot {
        TRUNCATED_TO_HALF(b -> Arrays.copyOf(b, b.length / 2), false, "has no SHA-256 trailer"),
        TRUNCATED_TO_HALF_ALLOWED_WITHOUT_TRAILER(b -> Arrays.copyOf(b, b.length / 2), true, "Nothing was changed on any host"),
        ONE_FLIPPED_BYTE(b -> {
            byte[] c = b.clone();
            c[c.length / 3] ^= 0x04;
            return c;
        }, false, "is corrupt"),
        NO_HASH_TRAILER(b -> Arrays.copyOf(b, b.length - 32), false, "has no SHA-256 trailer"),
        NOT_A_SNAPSHOT(b -> random(16 * 1024 + 100), false, "has no SHA-256 trailer"),
        NOT_A_SNAPSHOT_ALLOWED_WITHOUT_TRAILER(b -> random(16 * 1024 + 100), true, "Nothing was changed on any host"),
        NOT_A_SNAPSHOT_WITH_A_VALID_TRAILER(b -> withTrailer(random(16 * 1024)), false, "Nothing was changed on any host"),
        EMPTY(b -> new byte[0], false, "has no SHA-256 trailer"),
        EMPTY_ALLOWED_WITHOUT_TRAILER(b -> new byte[0], true, "Nothing was changed on any host");

        final UnaryOperator<byte[]> damage;
        final boolean allowNoTrailer;
        final String message;

        BadSnapshot(UnaryOperator<byte[]> damage, boolean allowNoTrailer, String message) {
            this.damage = damage;
            this.allowNoTrailer = allowNoTrailer;
            this.message = message;
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(BadSnapshot.class)
    @Order(1)
    void aBrokenSnapshotFileIsRefusedBeforeAnyHostChanges(BadSnapshot bad) throws Exception {
        Path file = Files.write(work.resolve(bad.name().toLowerCase() + ".db"), bad.damage.apply(good));
        Path inventory = Inventories.write(work, bad.name().toLowerCase() + ".yaml",
                Inventories.seedLike("hostile", testbed.hosts(), pki, Inventories.fromFile(file)));
        List<String> args = new java.util.ArrayList<>(List.of("recover", "-i", inventory.toString(), "--work-dir",
                work.resolve("runs").toString()));
        if (bad.allowNoTrailer) {
            args.add("--allow-no-hash-trailer");
        }

        Cli.Result r = Cli.etcdRescue(args.toArray(String[]::new));

        assertThat(r.exitCode()).as(r.all()).isEqualTo(3);
        assertThat(r.stdout()).contains("snapshot").contains(file.toString()).contains(bad.message).doesNotContain("Exception");
        assertNoHostChanged();
    }

    @Test
    @Order(2)
    void theGoodBackupRecoversOntoTheSameHosts() throws Exception {
        Path inventory = Inventories.write(work, "good.yaml",
                Inventories.seedLike("hostile", testbed.hosts(), pki, Inventories.fromFile(backup)));
        Cli.Result r = Cli.etcdRescue("recover", "-i", inventory.toString(), "--work-dir", work.resolve("runs").toString());
        assertThat(r.exitCode()).as(r.all()).isZero();
        assertThat(EtcdData.readAll(URI.create("http://" + testbed.host(1).address() + ":22379"), "/hostile/")).isEqualTo(written);
    }

    private void assertNoHostChanged() {
        for (TestHost h : testbed.hosts()) {
            assertThat(h.hostPath("/var/lib/etcd/new.etcd")).as(h.name()).doesNotExist();
            assertThat(h.hostPath("/etc/default/etcd_new")).as(h.name()).doesNotExist();
            assertThat(h.hostPath("/etc/systemd/system/etcd_new.service")).as(h.name()).doesNotExist();
            Path staging = h.hostPath("/var/lib/etcd-rescue-agent/staging");
            if (Files.isDirectory(staging)) {
                try (Stream<Path> files = Files.list(staging)) {
                    assertThat(files).as("staged files on %s", h.name()).isEmpty();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
    }

    private static byte[] random(int size) {
        byte[] b = new byte[size];
        new Random(size).nextBytes(b);
        return b;
    }

    /** Appends etcd's trailer (SHA-256 of the content), padding the content so that size % 512 == 32. */
    private static byte[] withTrailer(byte[] content) {
        try {
            byte[] padded = Arrays.copyOf(content, (content.length + 511) / 512 * 512);
            byte[] sha = MessageDigest.getInstance("SHA-256").digest(padded);
            byte[] out = Arrays.copyOf(padded, padded.length + 32);
            System.arraycopy(sha, 0, out, padded.length, 32);
            return out;
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
