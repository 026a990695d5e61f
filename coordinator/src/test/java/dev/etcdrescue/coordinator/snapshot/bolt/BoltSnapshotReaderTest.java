package dev.etcdrescue.snapshotformat.bolt;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.etcdrescue.testsupport.LocalEtcd;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** BoltSnapshot against real etcd files, compared with etcdctl's own reading of the same file. */
@Tag("etcd")
@Timeout(180)
class BoltSnapshotReaderTest {
    /** Where testbed/fetch-etcd-3.5.sh unpacks etcd 3.5 (.ci/run runs it); Maven runs tests in the module's dir. */
    private static final Path ETCD_35 = Path.of(System.getProperty("user.dir")).resolve("../.tools/etcd-3.5.16/bin").normalize();
    private static final int PAGE = 4096;

    @TempDir static Path dir;
    static LocalEtcd etcd;
    static Path snapshot;

    @BeforeAll
    static void takeSnapshot() throws Exception {
        etcd = LocalEtcd.start(dir, "bolt");
        EtcdTestData.fill(etcd.clientUrl(), 3000, 6);
        snapshot = dir.resolve("snap.db");
        etcd.etcdctl("snapshot", "save", snapshot.toString());
    }

    @AfterAll
    static void stop() throws Exception {
        if (etcd != null) {
            etcd.close();
        }
    }

    @Test
    void snapshotReadsExactlyAsEtcdctlReportsIt() throws Exception {
        SnapshotInfo info = BoltSnapshot.read(snapshot);
        JsonNode etcdctl = EtcdTestData.status("/usr/bin/etcdctl", snapshot);

        assertSameStatus(info, etcdctl);
        assertThat(info.hashTrailer()).isTrue();
        assertThat(info.totalSize()).isEqualTo(Files.size(snapshot) - 32);
        // 3000 puts, 300 updates, 120 deletes, 6 large puts: one revision each after etcd's initial revision 1.
        assertThat(info.revision()).isEqualTo(1 + 3000 + 300 + 120 + 6);
        assertThat(info.totalKeys()).isGreaterThan(3000 + 300 + 120 + 6);
        assertThat(info.consistentIndex()).isGreaterThan(3000);
        String table = EtcdTestData.run("/usr/bin/etcdctl", "snapshot", "status", snapshot.toString(), "-w", "table");
        assertThat(table).contains("| " + info.hash() + " |");
    }

    @Test
    void kvHashIsWhatEtcdAnswersToHashKvAtTheSnapshotsRevision() throws Exception {
        SnapshotInfo info = BoltSnapshot.read(snapshot);
        long live = hashKv(etcd, info.revision());
        assertThat(BoltSnapshot.hashKv(snapshot)).as("HashKV of the file, and of the member it was taken from").isEqualTo(live);
        assertThat(info.compactRevision()).isEqualTo(-1);
        assertThat(info.compactionPending()).isFalse();
    }

    @Test
    void afterACompactionKvHashStillEqualsEtcdsAndNamesTheCompactedRevision(@TempDir Path own) throws Exception {
        try (LocalEtcd member = LocalEtcd.start(own, "compacted")) {
            EtcdTestData.fill(member.clientUrl(), 500, 0);
            member.etcdctl("compact", "300", "--physical");
            EtcdTestData.fill(member.clientUrl(), 50, 0);
            Path file = own.resolve("compacted.db");
            member.etcdctl("snapshot", "save", file.toString());
            SnapshotInfo info = BoltSnapshot.read(file);

            assertThat(info.compactRevision()).isEqualTo(300);
            assertThat(info.compactionPending()).isFalse();
            long fromFile = BoltSnapshot.hashKv(file);
            assertThat(fromFile).isEqualTo(hashKv(member, info.revision()));
            assertThat(fromFile).as("the hash covers the data: another revision's differs").isNotEqualTo(hashKv(member, info.revision() - 1));
        }
    }

    /** etcd's own HashKV of the member at {@code revision}, as etcdctl prints it in JSON. */
    private static long hashKv(LocalEtcd member, long revision) throws Exception {
        JsonNode answer = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                member.etcdctl("endpoint", "hashkv", "--rev", Long.toString(revision), "-w", "json"));
        return answer.get(0).get("HashKV").get("hash").asLong();
    }

    @Test
    void aSnapshotOfEtcd34HasNeitherTermNorStorageVersion() throws Exception {
        assumeTrue(EtcdTestData.run("/usr/bin/etcd", "--version").contains("Version: 3.4."), "/usr/bin/etcd is not 3.4");
        SnapshotInfo info = BoltSnapshot.read(snapshot);
        assertThat(info.term()).isFalse();
        assertThat(info.storageMinor()).isEmpty();
    }

    @Test
    void snapshotHasBranchAndOverflowPages() throws Exception {
        byte[] bytes = Files.readAllBytes(snapshot);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        boolean branch = false;
        boolean overflow = false;
        for (int page = 2; (page + 1) * PAGE <= bytes.length - 32; page++) {
            int flags = b.getShort(page * PAGE + 8);
            branch |= b.getLong(page * PAGE) == page && flags == 0x01;
            overflow |= b.getLong(page * PAGE) == page && flags == 0x02 && b.getInt(page * PAGE + 12) > 0;
        }
        assertThat(branch).as("a branch page").isTrue();
        assertThat(overflow).as("a leaf with overflow pages").isTrue();
    }

    @Test
    void rawDbOfAStoppedMemberHasNoTrailerAndReadsAsEtcdctlReportsIt(@TempDir Path own) throws Exception {
        try (LocalEtcd member = LocalEtcd.start(own, "raw")) {
            EtcdTestData.fill(member.clientUrl(), 400, 2);
        }
        Path db = Files.copy(own.resolve("raw/member/snap/db"), own.resolve("copied.db"));
        SnapshotInfo info = BoltSnapshot.read(db);
        assertSameStatus(info, EtcdTestData.status("/usr/bin/etcdctl", db));
        assertThat(info.hashTrailer()).isFalse();
        assertThat(info.revision()).isEqualTo(1 + 400 + 40 + 16 + 2);
        assertThat(info.totalSize()).isLessThanOrEqualTo(Files.size(db));
    }

    @Test
    void rawDbWithOneTornMetaPageIsReadFromTheOtherAsBboltDoes(@TempDir Path own) throws Exception {
        try (LocalEtcd member = LocalEtcd.start(own, "torn")) {
            EtcdTestData.fill(member.clientUrl(), 100, 0);
        }
        byte[] db = Files.readAllBytes(own.resolve("torn/member/snap/db"));
        Path good = Files.write(own.resolve("good.db"), db);
        byte[] torn = db.clone();
        // Tear the older meta page: bbolt then reads the newer one, which describes the same data.
        java.nio.ByteBuffer le = java.nio.ByteBuffer.wrap(db).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int older = le.getLong(16 + 48) < le.getLong(PAGE + 16 + 48) ? 0 : PAGE;
        torn[older + 16 + 40] ^= 0x01; // that meta's high-water mark
        Path oneTorn = Files.write(own.resolve("one-torn.db"), torn);
        SnapshotInfo expected = BoltSnapshot.read(good);
        SnapshotInfo fromMeta1 = BoltSnapshot.read(oneTorn);
        assertThat(fromMeta1.revision()).isEqualTo(expected.revision());
        assertThat(fromMeta1.totalKeys()).isEqualTo(expected.totalKeys());

        torn[(PAGE - older) + 16 + 40] ^= 0x01; // and the other's
        Path bothTorn = Files.write(own.resolve("both-torn.db"), torn);
        assertRefused(bothTorn, "both meta pages are invalid: meta checksum mismatch");
    }

    @Test
    void snapshotFromEtcd35ReadsAsEtcdutlReportsIt(@TempDir Path own) throws Exception {
        assumeTrue(Files.isExecutable(ETCD_35.resolve("etcd")) && Files.isExecutable(ETCD_35.resolve("etcdutl")),
                "etcd 3.5.16 with etcdutl is not under " + ETCD_35);
        Path file = own.resolve("snap35.db");
        try (LocalEtcd member = LocalEtcd.start(ETCD_35.resolve("etcd"), own, "v35")) {
            EtcdTestData.fill(member.clientUrl(), 1500, 3);
            EtcdTestData.run(ETCD_35.resolve("etcdctl").toString(), "--endpoints", member.clientUrl().toString(),
                    "snapshot", "save", file.toString());
        }
        SnapshotInfo info = BoltSnapshot.read(file);
        assertSameStatus(info, EtcdTestData.status(ETCD_35.resolve("etcdutl").toString(), file));
        assertSameStatus(info, EtcdTestData.status("/usr/bin/etcdctl", file));
        assertThat(info.hashTrailer()).isTrue();
        assertThat(info.revision()).isEqualTo(1 + 1500 + 150 + 60 + 3);
        assertThat(info.storageVersion()).as("written from etcd 3.6 on").isEmpty();
        assertThat(info.storageMinor()).as("3.5 writes meta/term").contains("3.5");
    }

    @Test
    void truncatedSnapshotIsRefusedWithSizes(@TempDir Path own) throws Exception {
        byte[] bytes = Files.readAllBytes(snapshot);
        long pages = (bytes.length - 32) / PAGE;
        Path cut = Files.write(own.resolve("cut.db"), Arrays.copyOf(bytes, bytes.length / 2));
        assertRefused(cut, "truncated: meta says " + pages + " pages of 4096 bytes (" + pages * PAGE
                + " bytes), file has " + bytes.length / 2 + " bytes");
        Path oneMeta = Files.write(own.resolve("one-meta.db"), Arrays.copyOf(bytes, PAGE + 100));
        assertRefused(oneMeta, "truncated: " + (PAGE + 100) + " bytes, less than the two meta pages");
    }

    @Test
    void flippedByteInAMetaPageOfASnapshotIsRefused(@TempDir Path own) throws Exception {
        byte[] bytes = Files.readAllBytes(snapshot);
        for (int offset : new int[] {16 + 24, PAGE + 16 + 48}) {
            byte[] copy = bytes.clone();
            copy[offset] ^= 0x04;
            Path flipped = Files.write(own.resolve("flip-" + offset), copy);
            assertRefused(flipped, "meta checksum mismatch at page " + offset / PAGE);
        }
        byte[] badMagic = bytes.clone();
        badMagic[16] ^= 0x01;
        assertRefused(Files.write(own.resolve("magic.db"), badMagic), "meta page");
    }

    @Test
    void damagedDataPageIsRefusedAsCorrupt(@TempDir Path own) throws Exception {
        byte[] bytes = Files.readAllBytes(snapshot);
        byte[] copy = bytes.clone();
        Arrays.fill(copy, 5 * PAGE, 6 * PAGE, (byte) 0);
        // Drop the trailer so that the damage, not the meta rule for snapshots, is what the reader finds.
        Path zeroed = Files.write(own.resolve("zeroed.db"), Arrays.copyOf(copy, copy.length - 32));
        assertRefused(zeroed, "corrupt: ");
    }

    @Test
    void filesThatAreNoSnapshotAtAllAreRefused(@TempDir Path own) throws Exception {
        byte[] random = new byte[64 * PAGE];
        new Random(7).nextBytes(random);
        assertRefused(Files.write(own.resolve("random"), random), "not a bbolt file: bad magic at page 0");
        assertRefused(Files.write(own.resolve("empty"), new byte[0]), "empty file (0 bytes)");
        assertRefused(Files.writeString(own.resolve("text"), "hello\n"), "not a bbolt file: only 6 bytes");
        assertRefused(Files.writeString(own.resolve("yaml"), "all:\n  hosts: {}\n".repeat(500)),
                "not a bbolt file: bad magic at page 0");
    }

    private static void assertSameStatus(SnapshotInfo info, JsonNode etcdctl) {
        assertThat(info.revision()).as("revision").isEqualTo(etcdctl.get("revision").asLong());
        assertThat(info.totalKeys()).as("totalKey").isEqualTo(etcdctl.get("totalKey").asLong());
        assertThat(info.totalSize()).as("totalSize").isEqualTo(etcdctl.get("totalSize").asLong());
        assertThat(info.hashValue()).as("hash").isEqualTo(etcdctl.get("hash").asLong());
    }

    private static void assertRefused(Path file, String reason) {
        assertThatThrownBy(() -> BoltSnapshot.read(file))
                .isInstanceOf(NotASnapshotException.class)
                .hasMessageStartingWith(file + ": ")
                .satisfies(e -> assertThat(((NotASnapshotException) e).reason()).contains(reason));
    }
}
