package dev.etcdrescue.coordinator.snapshot;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.testsupport.LocalEtcd;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Against a real etcd 3.4: the snapshot jetcd streams is accepted by etcdctl and carries a valid trailer. */
@Tag("etcd")
@Timeout(120)
class SnapshotTakerTest {
    @TempDir static Path dir;
    static LocalEtcd etcd;

    @BeforeAll
    static void start() throws Exception {
        etcd = LocalEtcd.start(dir, "survivor");
        for (int i = 0; i < 50; i++) {
            etcd.etcdctl("put", "/k/" + i, "v" + i);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (etcd != null) {
            etcd.close();
        }
    }

    @Test
    void probePicksTheAnsweringMemberAndReportsTheDeadOne() {
        SnapshotTaker taker = new SnapshotTaker(new EtcdClients(Duration.ofSeconds(2)), Duration.ofSeconds(3));
        URI dead = URI.create("http://127.0.0.1:1");
        SnapshotTaker.Probe probe = taker.probe(List.of(dead, etcd.clientUrl()));
        assertThat(probe.unreachable()).containsOnlyKeys(dead);
        // A refused connection is reported as such, not after jetcd's retries ran into the timeout.
        assertThat(probe.unreachable().get(dead)).contains("Connection refused").doesNotContain("no answer within");
        SourceMember best = probe.best().orElseThrow();
        assertThat(best.endpoint()).isEqualTo(etcd.clientUrl());
        assertThat(best.revision()).isGreaterThanOrEqualTo(51);
        assertThat(best.version()).startsWith("3.");
    }

    @Test
    void takenSnapshotHasAValidTrailerAndEtcdctlAgreesOnItsRevision() throws Exception {
        SnapshotTaker taker = new SnapshotTaker(new EtcdClients(Duration.ofSeconds(2)), Duration.ofSeconds(3));
        SourceMember source = taker.probe(List.of(etcd.clientUrl())).best().orElseThrow();
        SnapshotFile file = taker.take(source, dir.resolve("snap.db"), Duration.ofSeconds(60));
        assertThat(file.trailer()).isEqualTo(SnapshotDigest.Trailer.VALID);
        assertThat(dir.resolve("snap.db.part")).doesNotExist();
        Process p = new ProcessBuilder("/usr/bin/etcdctl", "snapshot", "status", file.path().toString(), "-w", "json")
                .redirectErrorStream(true).start();
        String status = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).isZero();
        assertThat(status).contains("\"revision\":" + source.revision());
    }

    /**
     * A member that stopped answering after the probe (its port dropped or closed): the take fails at the TCP connect
     * within the status timeout, with no .part file, instead of jetcd waiting for a connection until the take's timeout.
     */
    @Test
    void aMemberGoneAfterTheProbeFailsTheTakeAtTheConnectWithoutAFile() {
        SnapshotTaker taker = new SnapshotTaker(new EtcdClients(Duration.ofSeconds(2)), Duration.ofSeconds(3));
        SourceMember gone = new SourceMember(URI.create("http://127.0.0.1:1"), "3.4.23", 51, 51, 1 << 20, 1, 1, false, List.of());
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> taker.take(gone, dir.resolve("gone.db"), Duration.ofMinutes(30)))
                .isInstanceOf(dev.etcdrescue.coordinator.failure.UserException.class)
                .hasMessageContaining("snapshot from http://127.0.0.1:1 failed: no TCP connection within 3s (")
                .hasMessageContaining("Connection refused").hasMessageContaining("no file was written");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
        assertThat(dir.resolve("gone.db.part")).doesNotExist();
        assertThat(dir.resolve("gone.db")).doesNotExist();
    }

    /** Every key of the cluster is in it: 0600 whatever the umask, and never written through a link at its .part name. */
    @Test
    void theSnapshotIsPrivateAndALinkPlantedAtItsPartNameIsNotWrittenThrough() throws Exception {
        SnapshotTaker taker = new SnapshotTaker(new EtcdClients(Duration.ofSeconds(2)), Duration.ofSeconds(3));
        SourceMember source = taker.probe(List.of(etcd.clientUrl())).best().orElseThrow();
        Path victim = Files.writeString(dir.resolve("victim"), "the operator's");
        Files.createSymbolicLink(dir.resolve("private.db.part"), victim);

        SnapshotFile file = taker.take(source, dir.resolve("private.db"), Duration.ofSeconds(60));

        assertThat(Files.readString(victim)).isEqualTo("the operator's");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file.path()))).isEqualTo("rw-------");
    }
}
