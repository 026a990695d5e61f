package dev.etcdrescue.agent.it;

import org.junit.jupiter.api.Tag;
import static dev.etcdrescue.agent.testing.AgentFixture.header;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.testsupport.FreePorts;
import dev.etcdrescue.agent.testing.SourceSnapshot;
import dev.etcdrescue.agent.testing.Uploads;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.Member;
import dev.etcdrescue.proto.v1.MemberSpec;
import dev.etcdrescue.proto.v1.RestoreRequest;
import dev.etcdrescue.proto.v1.TransferResult;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Broken snapshot files uploaded under their own (correct) digest, as a coordinator that did not
 * check them would send them: a file {@code snapshot status} cannot read is refused and moved aside
 * (never staged); a file it can read but whose SHA-256 trailer is wrong or missing is staged with
 * {@code has_hash_trailer=false}, and its restore is refused unless {@code skip_hash_check} is asked
 * for, leaving no data dir behind.
 */
@Tag("etcd")
@Timeout(120)
class HostileSnapshotTest {
    private static final String OP = "op-bad-snap";
    private static SourceSnapshot snapshot;

    @TempDir
    static Path shared;
    @TempDir
    Path tmp;
    private AgentFixture agent;

    @BeforeAll
    static void takeSnapshot() throws Exception {
        snapshot = SourceSnapshot.take(shared);
    }

    @BeforeEach
    void startAgent() throws Exception {
        agent = new AgentFixture(tmp);
        agent.claim(OP);
    }

    @AfterEach
    void stopAgent() {
        agent.close();
    }

    enum Damage {
        TRUNCATED(b -> Arrays.copyOf(b, b.length / 2), false),
        NOT_A_SNAPSHOT(b -> {
            byte[] r = new byte[b.length];
            new Random(3).nextBytes(r);
            return r;
        }, false),
        EMPTY(b -> new byte[0], false),
        ONE_FLIPPED_BYTE(b -> {
            byte[] c = b.clone();
            c[insideAValue(c, c.length / 3)] ^= 0x04;
            return c;
        }, true),
        NO_HASH_TRAILER(b -> Arrays.copyOf(b, b.length - 32), true);

        final UnaryOperator<byte[]> apply;
        /** Whether {@code snapshot status} still reads the file (only its integrity trailer is wrong or gone). */
        final boolean readable;

        Damage(UnaryOperator<byte[]> apply, boolean readable) {
            this.apply = apply;
            this.readable = readable;
        }

        /**
         * An offset inside one of the bulk values ("x" x 8000) at or after {@code from}: a byte flipped there
         * breaks only the trailer. At a fixed offset it could land in a page header or the freelist of
         * that run's snapshot (their layout differs from run to run), and etcdctl's status then panics.
         */
        private static int insideAValue(byte[] bytes, int from) {
            int run = 0;
            for (int i = from; i < bytes.length; i++) {
                run = bytes[i] == 'x' ? run + 1 : 0;
                if (run == 64) {
                    return i - 32;
                }
            }
            throw new IllegalStateException("no bulk value after offset " + from);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Damage.class)
    void aBrokenSnapshotIsNeverRestoredWithoutBeingAskedTo(Damage damage) throws Exception {
        byte[] bytes = damage.apply.apply(snapshot.bytes());
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        String id = "bad-" + damage.name().toLowerCase().replace('_', '-');
        // An empty file can only be announced as a live stream (size 0 means "unknown").
        agent.coordinator().beginTransfer(BeginTransferRequest.newBuilder().setHeader(header(OP)).setTransferId(id)
                .setSha256(sha).setTotalSize(bytes.length).build());
        Path dataDir = agent.dataRoot.resolve("new.etcd");

        if (!damage.readable) {
            assertThatThrownBy(() -> Uploads.upload(agent.coordinatorAsync(), header(OP), id, bytes, 0, UnaryOperator.identity()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                        assertThat(e.getStatus().getDescription()).contains("not a readable etcd snapshot", ".invalid-");
                    });
            assertThat(agent.config.stagingDir().resolve(id + ".db")).doesNotExist();
            try (Stream<Path> files = Files.list(agent.config.stagingDir())) {
                assertThat(files.map(p -> p.getFileName().toString())).anyMatch(n -> n.startsWith(id + ".db.invalid-"));
            }
            assertThatThrownBy(() -> restore(id, dataDir, false)).isInstanceOfSatisfying(StatusRuntimeException.class,
                    e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));
        } else {
            TransferResult staged = Uploads.upload(agent.coordinatorAsync(), header(OP), id, bytes, 0, UnaryOperator.identity());
            assertThat(staged.getHasHashTrailer()).isFalse();
            assertThatThrownBy(() -> restore(id, dataDir, false)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                assertThat(e.getStatus().getDescription()).contains("snapshot restore failed");
            });
        }
        assertThat(dataDir).as("nothing restored where etcd would read it").doesNotExist();
    }

    private void restore(String id, Path dataDir, boolean skipHashCheck) throws Exception {
        String peer = "http://127.0.0.1:" + FreePorts.loopback();
        agent.coordinator().restoreMember(RestoreRequest.newBuilder().setHeader(header(OP)).setTransferId(id)
                .setSkipHashCheck(skipHashCheck)
                .setMember(MemberSpec.newBuilder().setName("m0").addPeerUrls(peer).addClientUrls("http://127.0.0.1:" + FreePorts.loopback())
                        .setDataDir(dataDir.toString()).setInitialClusterToken("bad-snap")
                        .addInitialCluster(Member.newBuilder().setName("m0").addPeerUrls(peer)))
                .build());
    }
}
