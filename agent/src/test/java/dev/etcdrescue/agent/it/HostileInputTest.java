package dev.etcdrescue.agent.it;

import org.junit.jupiter.api.Tag;
import static dev.etcdrescue.agent.testing.AgentFixture.header;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.agent.testing.Uploads;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.ConfigureRequest;
import dev.etcdrescue.proto.v1.DownloadSnapshotRequest;
import dev.etcdrescue.proto.v1.EnvSetting;
import dev.etcdrescue.proto.v1.Member;
import dev.etcdrescue.proto.v1.MemberSpec;
import dev.etcdrescue.proto.v1.PreflightRequest;
import dev.etcdrescue.proto.v1.RescueAgentGrpc;
import dev.etcdrescue.proto.v1.RestoreRequest;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Hostile and broken RPC fields against a real agent over real mTLS, one case per row: each is refused
 * with its code and a message, and nothing is written outside the agent's staging dir (a snapshot of
 * every file under the fixture's root, taken before, is compared after). Rows that only exercise an
 * existing rule are here as well, so the table is the full list.
 */
@Tag("etcd")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class HostileInputTest {
    private static final String OP = "op-hostile";
    private static final int CHUNK = Uploads.CHUNK;

    @TempDir
    static Path tmp;
    private AgentFixture agent;
    private byte[] bytes;
    private String sha;
    private Path outside;

    @BeforeAll
    void startClaimedAgent() throws Exception {
        agent = new AgentFixture(tmp.resolve("host"));
        agent.claim(OP);
        bytes = new byte[6 * CHUNK + 1234];
        new Random(42).nextBytes(bytes);
        sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        outside = Files.createDirectories(tmp.resolve("outside"));
        // A link inside the data root that leads out of it, and one inside the backup dir to the agent's key.
        Files.createSymbolicLink(agent.dataRoot.resolve("escape"), outside);
        Files.createSymbolicLink(agent.backupDir.resolve("key.db"), agent.config.tls().key());
    }

    @AfterAll
    void stopAgent() {
        agent.close();
    }

    // ------------------------------------------------------------------ unary RPC fields

    enum Field {
        DATA_DIR_TRAVERSAL(Status.Code.INVALID_ARGUMENT, "'..'",
                (t, r) -> r.restore(t.spec().setDataDir(t.agent.dataRoot + "/../../../etc/evil"))),
        DATA_DIR_OUTSIDE_THE_ROOTS(Status.Code.INVALID_ARGUMENT, "outside the allowed roots",
                (t, r) -> r.restore(t.spec().setDataDir(t.outside.resolve("new.etcd").toString()))),
        DATA_DIR_IS_THE_ROOT_ITSELF(Status.Code.INVALID_ARGUMENT, "outside the allowed roots",
                (t, r) -> r.restore(t.spec().setDataDir(t.agent.dataRoot.toString()))),
        DATA_DIR_RELATIVE(Status.Code.INVALID_ARGUMENT, "absolute path",
                (t, r) -> r.restore(t.spec().setDataDir("var/lib/etcd/new.etcd"))),
        DATA_DIR_THROUGH_A_SYMLINK_OUT(Status.Code.INVALID_ARGUMENT, "symbolic link",
                (t, r) -> r.restore(t.spec().setDataDir(t.agent.dataRoot.resolve("escape/new.etcd").toString()))),
        DATA_DIR_WITH_A_NEWLINE(Status.Code.INVALID_ARGUMENT, "\\x0a",
                (t, r) -> r.restore(t.spec().setDataDir(t.agent.dataRoot + "/new.etcd\nETCD_NAME=evil"))),
        DATA_DIR_WITH_SHELL_METACHARACTERS(Status.Code.INVALID_ARGUMENT, "member.data_dir",
                (t, r) -> r.restore(t.spec().setDataDir(t.agent.dataRoot + "/x;rm -rf $HOME"))),
        WAL_DIR_OUTSIDE_THE_ROOTS(Status.Code.INVALID_ARGUMENT, "member.wal_dir",
                (t, r) -> r.restore(t.spec().setWalDir(t.outside.resolve("wal").toString()))),
        NAME_WITH_A_NEWLINE(Status.Code.INVALID_ARGUMENT, "member.name",
                (t, r) -> r.restore(t.spec().setName("m0\nETCD_INITIAL_CLUSTER_STATE=existing"))),
        NAME_WITH_A_QUOTE(Status.Code.INVALID_ARGUMENT, "member.name", (t, r) -> r.restore(t.spec().setName("m0\" x=\""))),
        NAME_WITH_A_DOLLAR(Status.Code.INVALID_ARGUMENT, "member.name", (t, r) -> r.restore(t.spec().setName("m$(id)"))),
        NAME_WITH_A_PERCENT_SPECIFIER(Status.Code.INVALID_ARGUMENT, "member.name", (t, r) -> r.restore(t.spec().setName("m%h"))),
        NAME_WITH_SHELL_METACHARACTERS(Status.Code.INVALID_ARGUMENT, "member.name",
                (t, r) -> r.restore(t.spec().setName("m0; touch /tmp/pwned"))),
        TOKEN_WITH_A_BACKTICK(Status.Code.INVALID_ARGUMENT, "member.initial_cluster_token",
                (t, r) -> r.restore(t.spec().setInitialClusterToken("`id`"))),
        PEER_URL_WITH_A_NEWLINE(Status.Code.INVALID_ARGUMENT, "member.peer_urls[0]",
                (t, r) -> r.restore(t.spec().setPeerUrls(0, "http://127.0.0.1:22380\nETCD_NAME=evil"))),
        PEER_URL_SMUGGLING_A_MEMBER(Status.Code.INVALID_ARGUMENT, "member.initial_cluster[0].peer_urls[0]",
                (t, r) -> r.restore(t.spec().setInitialCluster(0, Member.newBuilder().setName("m0")
                        .addPeerUrls("http://127.0.0.1:22380,evil=http://127.0.0.9:2380")))),
        CLIENT_URL_WITH_ANOTHER_SCHEME(Status.Code.INVALID_ARGUMENT, "member.client_urls[0]",
                (t, r) -> r.restore(t.spec().setClientUrls(0, "file:///etc/passwd"))),
        URL_WITH_A_PORT_OUT_OF_RANGE(Status.Code.INVALID_ARGUMENT, "out of range",
                (t, r) -> r.restore(t.spec().setClientUrls(0, "http://127.0.0.1:99999"))),
        INITIAL_CLUSTER_NAME_WITH_EQUALS(Status.Code.INVALID_ARGUMENT, "member.initial_cluster[1].name",
                (t, r) -> r.restore(t.spec().addInitialCluster(Member.newBuilder().setName("a=b").addPeerUrls("http://127.0.0.2:22380")))),
        TRANSFER_ID_TRAVERSAL(Status.Code.INVALID_ARGUMENT, "transfer_id",
                (t, r) -> r.restore(t.spec(), "../../etc/passwd")),
        NEW_UNIT_TRAVERSAL(Status.Code.INVALID_ARGUMENT, "new_unit", (t, r) -> r.configure(t.config().setNewUnit("../../../etc/evil"))),
        NEW_UNIT_WITH_A_SECTION(Status.Code.INVALID_ARGUMENT, "new_unit",
                (t, r) -> r.configure(t.config().setNewUnit("etcd_new\n[Service]\nExecStartPre=/bin/sh -c id"))),
        NEW_UNIT_WITH_A_SPACE(Status.Code.INVALID_ARGUMENT, "new_unit", (t, r) -> r.configure(t.config().setNewUnit("etcd new"))),
        NEW_UNIT_WITH_A_DOLLAR(Status.Code.INVALID_ARGUMENT, "new_unit", (t, r) -> r.configure(t.config().setNewUnit("etcd$x"))),
        NEW_UNIT_WITH_A_PERCENT_SPECIFIER(Status.Code.INVALID_ARGUMENT, "new_unit", (t, r) -> r.configure(t.config().setNewUnit("%h"))),
        NEW_UNIT_SAME_AS_BASE(Status.Code.INVALID_ARGUMENT, "must differ", (t, r) -> r.configure(t.config().setNewUnit("etcd"))),
        BASE_UNIT_AS_A_PATH(Status.Code.INVALID_ARGUMENT, "base_unit",
                (t, r) -> r.configure(t.config().setBaseUnit("/lib/systemd/system/etcd"))),
        EXTRA_KEY_NOT_ALLOWED(Status.Code.INVALID_ARGUMENT, "not an allowed setting",
                (t, r) -> r.configure(t.config().addExtra(extra("LD_PRELOAD", "/tmp/evil.so")))),
        EXTRA_KEY_OVERRIDING_THE_PLAN(Status.Code.INVALID_ARGUMENT, "not an allowed setting",
                (t, r) -> r.configure(t.config().addExtra(extra("ETCD_INITIAL_CLUSTER_STATE", "existing")))),
        EXTRA_KEY_WITH_A_NEWLINE(Status.Code.INVALID_ARGUMENT, "\\x0a",
                (t, r) -> r.configure(t.config().addExtra(extra("ETCD_LOG_LEVEL\nETCD_NAME", "info")))),
        EXTRA_KEY_GIVEN_TWICE(Status.Code.INVALID_ARGUMENT, "given twice",
                (t, r) -> r.configure(t.config().addExtra(extra("ETCD_LOG_LEVEL", "info")).addExtra(extra("ETCD_LOG_LEVEL", "debug")))),
        EXTRA_VALUE_WITH_A_NEWLINE(Status.Code.INVALID_ARGUMENT, "extra[0].value",
                (t, r) -> r.configure(t.config().addExtra(extra("ETCD_HEARTBEAT_INTERVAL", "250\nETCD_NAME=evil")))),
        EXTRA_VALUE_WITH_A_QUOTE(Status.Code.INVALID_ARGUMENT, "extra[0].value",
                (t, r) -> r.configure(t.config().addExtra(extra("ETCD_LOG_LEVEL", "info\"")))),
        EXTRA_VALUE_WITH_A_DOLLAR(Status.Code.INVALID_ARGUMENT, "extra[0].value",
                (t, r) -> r.configure(t.config().addExtra(extra("ETCD_AUTO_COMPACTION_RETENTION", "${HOME}")))),
        EXTRA_VALUE_WITH_A_PERCENT_SPECIFIER(Status.Code.INVALID_ARGUMENT, "extra[0].value",
                (t, r) -> r.configure(t.config().addExtra(extra("ETCD_CERT_FILE", "/etc/%H/cert.pem")))),
        EXTRA_PATH_WITH_SHELL_METACHARACTERS(Status.Code.INVALID_ARGUMENT, "extra[0].value",
                (t, r) -> r.configure(t.config().addExtra(extra("ETCD_KEY_FILE", "/etc/x.pem;rm -rf /")))),
        EXTRA_PATH_TRAVERSAL(Status.Code.INVALID_ARGUMENT, "'..'",
                (t, r) -> r.configure(t.config().addExtra(extra("ETCD_TRUSTED_CA_FILE", "/etc/ssl/../../root/ca.pem")))),
        EXTRA_PATH_RELATIVE(Status.Code.INVALID_ARGUMENT, "extra[0].value",
                (t, r) -> r.configure(t.config().addExtra(extra("ETCD_PEER_KEY_FILE", "peer-key.pem")))),
        EXTRA_URL_LIST_WITH_A_NEWLINE(Status.Code.INVALID_ARGUMENT, "extra[0].value",
                (t, r) -> r.configure(t.config().addExtra(extra("ETCD_LISTEN_METRICS_URLS", "http://127.0.0.1:2381\nETCD_NAME=x")))),
        EXTRA_LOG_FILE_OUTSIDE_THE_LOG_DIRS(Status.Code.INVALID_ARGUMENT, "log_dirs",
                (t, r) -> r.configure(t.config().addExtra(extra("ETCD_LOG_OUTPUTS", "stderr,/etc/cron.d/etcd")))),
        EXTRA_LOG_FILE_TRAVERSING_OUT_OF_THE_LOG_DIRS(Status.Code.INVALID_ARGUMENT, "'..'",
                (t, r) -> r.configure(t.config().addExtra(extra("ETCD_LOG_OUTPUTS", "/var/log/etcd/../../../etc/shadow")))),
                EXTRA_BOOL_NOT_A_BOOL(Status.Code.INVALID_ARGUMENT, "true or false",
                (t, r) -> r.configure(t.config().addExtra(extra("ETCD_CLIENT_CERT_AUTH", "yes")))),
        HEADER_CLUSTER_WITH_A_NEWLINE(Status.Code.INVALID_ARGUMENT, "header.cluster_name",
                (t, r) -> r.stub.configureMember(t.config().setHeader(header(OP).toBuilder().setClusterName("c\nx")).build())),
        HEADER_OPERATION_TRAVERSAL(Status.Code.INVALID_ARGUMENT, "header.operation_id",
                (t, r) -> r.stub.configureMember(t.config().setHeader(header(OP).toBuilder().setOperationId("../../x")).build())),
        HEADER_MISSING(Status.Code.INVALID_ARGUMENT, "no operation header",
                (t, r) -> r.stub.configureMember(t.config().clearHeader().build())),
        TRANSFER_ID_WITH_A_SLASH(Status.Code.INVALID_ARGUMENT, "transfer_id", (t, r) -> r.begin("a/b", t.sha, 10)),
        TRANSFER_ID_ABSOLUTE(Status.Code.INVALID_ARGUMENT, "transfer_id", (t, r) -> r.begin("/etc/passwd", t.sha, 10)),
        TRANSFER_ID_DOT_DOT(Status.Code.INVALID_ARGUMENT, "transfer_id", (t, r) -> r.begin("..", t.sha, 10)),
        TRANSFER_ID_EMPTY(Status.Code.INVALID_ARGUMENT, "transfer_id", (t, r) -> r.begin("", t.sha, 10)),
        TRANSFER_ID_TOO_LONG(Status.Code.INVALID_ARGUMENT, "transfer_id", (t, r) -> r.begin("x".repeat(65), t.sha, 10)),
        RELAY_ANNOUNCED_WITHOUT_A_DIGEST(Status.Code.INVALID_ARGUMENT, "sha256 and total_size",
                (t, r) -> r.stub.beginTransfer(BeginTransferRequest.newBuilder().setHeader(header(OP)).setTransferId("t-relay")
                        .setTotalSize(10).setRelay(dev.etcdrescue.agent.testing.RelayGrants.sign(t.agent.certs.coordinator,
                                "t-relay", OP, AgentFixture.HOST, java.util.List.of(), java.time.Instant.now().plusSeconds(60)))
                        .build())),
                SHA256_NOT_HEX(Status.Code.INVALID_ARGUMENT, "sha256", (t, r) -> r.begin("t-sha", "z".repeat(64), 10)),
        TOTAL_SIZE_NEGATIVE(Status.Code.INVALID_ARGUMENT, "total_size", (t, r) -> r.begin("t-size", t.sha, -1)),
        DOWNLOAD_TRAVERSAL(Status.Code.INVALID_ARGUMENT, "'..'",
                (t, r) -> r.download(t.agent.backupDir + "/../../../etc/shadow")),
        DOWNLOAD_OUTSIDE_THE_BACKUP_DIRS(Status.Code.INVALID_ARGUMENT, "outside the allowed roots",
                (t, r) -> r.download(t.agent.config.tls().key().toString())),
        DOWNLOAD_THROUGH_A_SYMLINK_OUT(Status.Code.INVALID_ARGUMENT, "symbolic link",
                (t, r) -> r.download(t.agent.backupDir.resolve("key.db").toString()));

        final Status.Code code;
        final String message;
        final Request request;

        Field(Status.Code code, String message, Request request) {
            this.code = code;
            this.message = message;
            this.request = request;
        }
    }

    @FunctionalInterface
    interface Request {
        void send(HostileInputTest test, Calls calls) throws Exception;
    }

    /** The RPCs a row sends, through one stub with a deadline. */
    record Calls(RescueAgentGrpc.RescueAgentBlockingStub stub) {
        void restore(MemberSpec.Builder member) {
            restore(member, "snap-hostile");
        }

        void restore(MemberSpec.Builder member, String transferId) {
            stub.restoreMember(RestoreRequest.newBuilder().setHeader(header(OP)).setTransferId(transferId)
                    .setMember(member).build());
        }

        void configure(ConfigureRequest.Builder request) {
            stub.configureMember(request.build());
        }

        void begin(String id, String sha, long size) {
            stub.beginTransfer(BeginTransferRequest.newBuilder().setHeader(header(OP)).setTransferId(id).setSha256(sha)
                    .setTotalSize(size).build());
        }

        void download(String path) {
            stub.downloadSnapshot(DownloadSnapshotRequest.newBuilder().setHeader(header(OP)).setPath(path).build()).hasNext();
        }
    }

    /** A member of a one-member cluster inside the agent's data root: valid as it stands. */
    MemberSpec.Builder spec() {
        return MemberSpec.newBuilder().setName("m0").addPeerUrls("http://127.0.0.1:22380")
                .addClientUrls("http://127.0.0.1:22379").setDataDir(agent.dataRoot.resolve("new.etcd").toString())
                .setInitialClusterToken("hostile-token")
                .addInitialCluster(Member.newBuilder().setName("m0").addPeerUrls("http://127.0.0.1:22380"));
    }

    ConfigureRequest.Builder config() {
        return ConfigureRequest.newBuilder().setHeader(header(OP)).setMember(spec()).setNewUnit("etcd_new").setBaseUnit("etcd");
    }

    static EnvSetting extra(String key, String value) {
        return EnvSetting.newBuilder().setKey(key).setValue(value).build();
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Field.class)
    void aHostileFieldIsRefusedWithItsCodeAndNothingIsWritten(Field row) throws Exception {
        Map<String, String> before = tree();
        Calls calls = new Calls(agent.coordinator());

        assertThatThrownBy(() -> row.request.send(this, calls)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).as(String.valueOf(e.getStatus())).isEqualTo(row.code);
            assertThat(e.getStatus().getDescription()).contains(row.message);
        });

        assertThat(tree()).isEqualTo(before);
        assertThat(agent.root.resolve("etc/evil")).doesNotExist();
        try (Stream<Path> left = Files.list(outside)) {
            assertThat(left).isEmpty();
        }
    }

    /** The positive control for every row: the unmodified spec and config pass the same validators. */
    @Test
    void theValidBaselineOfEveryRowIsAccepted() throws Exception {
        var report = agent.coordinator().preflight(PreflightRequest.newBuilder().setHeader(header(OP)).setMember(spec())
                .setNewUnit("etcd_new").setBaseUnit("etcd")
                .addExtra(extra("ETCD_HEARTBEAT_INTERVAL", "250")).addExtra(extra("ETCD_LOG_LEVEL", "info")).build());
        assertThat(report.getPlan().getEnvFileContent()).as(report.getFindingsList().toString())
                .contains("ETCD_NAME=\"m0\"", "ETCD_HEARTBEAT_INTERVAL=\"250\"", "ETCD_LOG_LEVEL=\"info\"");
        assertThat(report.getPlan().getUnitFileContent()).contains("EnvironmentFile=" + agent.envDir.resolve("etcd_new"));

        agent.coordinator().beginTransfer(BeginTransferRequest.newBuilder().setHeader(header(OP)).setTransferId("t-good")
                .setSha256(sha).setTotalSize(bytes.length).build());
        var chunks = agent.coordinator().downloadSnapshot(DownloadSnapshotRequest.newBuilder().setHeader(header(OP))
                .setPath(Files.write(agent.backupDir.resolve("good.db"), bytes).toString()).build());
        assertThat(chunks.hasNext()).isTrue();
    }

    // ------------------------------------------------------------------ upload streams

    enum BadStream {
        CHUNK_SKIPS_AHEAD(Status.Code.INVALID_ARGUMENT, "chunk at offset 196608, expected 131072", 0,
                c -> c.getOffset() == 2L * CHUNK ? c.toBuilder().setOffset(3L * CHUNK).build() : c),
        CHUNK_OVERLAPS_THE_PREVIOUS(Status.Code.INVALID_ARGUMENT, "chunk at offset 65536, expected 131072", 0,
                c -> c.getOffset() == 2L * CHUNK ? c.toBuilder().setOffset(CHUNK).build() : c),
        NEGATIVE_OFFSET(Status.Code.INVALID_ARGUMENT, "chunk at offset -1, expected 0", 0,
                c -> c.getOffset() == 0 ? c.toBuilder().setOffset(-1).build() : c),
        HUGE_OFFSET(Status.Code.INVALID_ARGUMENT, "chunk at offset " + (Long.MAX_VALUE - 7), 0,
                c -> c.getOffset() == 0 ? c.toBuilder().setOffset(Long.MAX_VALUE - 7).build() : c),
        LONGER_THAN_ANNOUNCED(Status.Code.INVALID_ARGUMENT, "beyond the announced size", -1000, UnaryOperator.identity()),
        ENDS_WITHOUT_A_LAST_CHUNK(Status.Code.INVALID_ARGUMENT, "without a chunk marked last", 0,
                c -> c.toBuilder().setLast(false).build()),
        FINAL_SIZE_CONTRADICTS_THE_BYTES(Status.Code.INVALID_ARGUMENT, "final_size", 0,
                c -> c.getLast() ? c.toBuilder().setFinalSize(c.getOffset() + c.getData().size() + 1).build() : c),
        FIRST_CHUNK_WITHOUT_HEADER(Status.Code.INVALID_ARGUMENT, "must carry the operation header", 0,
                c -> c.toBuilder().clearHeader().build()),
        CHUNK_OF_ANOTHER_TRANSFER(Status.Code.INVALID_ARGUMENT, "in the stream of transfer", 0,
                c -> c.getOffset() == CHUNK ? c.toBuilder().setTransferId("other").build() : c),
        TRANSFER_ID_TRAVERSAL_IN_THE_STREAM(Status.Code.INVALID_ARGUMENT, "transfer_id", 0,
                c -> c.toBuilder().setTransferId("../../etc/passwd").build()),
        CHUNK_LARGER_THAN_THE_MESSAGE_LIMIT(Status.Code.RESOURCE_EXHAUSTED, "", 0,
                c -> c.getOffset() == 0 ? c.toBuilder().setData(ByteString.copyFrom(new byte[5 << 20])).build() : c),
        NEVER_ANNOUNCED(Status.Code.FAILED_PRECONDITION, "was not announced", Long.MIN_VALUE, UnaryOperator.identity());

        final Status.Code code;
        final String message;
        /** Announced size relative to the real one; Long.MIN_VALUE: no BeginTransfer at all. */
        final long announcedDelta;
        final UnaryOperator<SnapshotChunk> tamper;

        BadStream(Status.Code code, String message, long announcedDelta, UnaryOperator<SnapshotChunk> tamper) {
            this.code = code;
            this.message = message;
            this.announcedDelta = announcedDelta;
            this.tamper = tamper;
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(BadStream.class)
    void aBrokenUploadStreamIsRefusedAndLeavesOnlyItsPartialFileInStaging(BadStream row) throws Exception {
        String id = "up-" + row.name().toLowerCase().replace('_', '-');
        Map<String, String> before = tree();
        if (row.announcedDelta != Long.MIN_VALUE) {
            agent.coordinator().beginTransfer(BeginTransferRequest.newBuilder().setHeader(header(OP)).setTransferId(id)
                    .setSha256(sha).setTotalSize(bytes.length + row.announcedDelta).build());
        }

        assertThatThrownBy(() -> Uploads.upload(agent.coordinatorAsync(), header(OP), id, bytes, 0, row.tamper))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).as(String.valueOf(e.getStatus())).isEqualTo(row.code);
                    assertThat(e.getStatus().getDescription()).isNotBlank().contains(row.message);
                });

        assertThat(tree()).isEqualTo(before);
        try (Stream<Path> staged = Files.list(agent.config.stagingDir())) {
            assertThat(staged.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(id)))
                    .allMatch(n -> n.equals(id + ".part") || n.equals(id + ".json"));
        }
        assertThat(agent.config.stagingDir().resolve(id + ".db")).doesNotExist();
    }

    /** The positive control for the stream rows: the same bytes, untampered, reach the last check (is it an etcd db?). */
    @Test
    void theSameBytesUntamperedPassEveryStreamCheck() throws Exception {
        agent.coordinator().beginTransfer(BeginTransferRequest.newBuilder().setHeader(header(OP)).setTransferId("up-control")
                .setSha256(sha).setTotalSize(bytes.length).build());
        // Random bytes are no etcd db: the agent checks the digest, then refuses the content, and keeps nothing.
        assertThatThrownBy(() -> Uploads.upload(agent.coordinatorAsync(), header(OP), "up-control", bytes, 0,
                UnaryOperator.identity()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription()).contains("not a readable etcd snapshot");
                });
        try (Stream<Path> staged = Files.list(agent.config.stagingDir())) {
            assertThat(staged.map(p -> p.getFileName().toString())).anyMatch(n -> n.startsWith("up-control.db.invalid-"));
        }
    }

    /**
     * Every path under the fixture's root except the staging dir, the audit log and the journal, with
     * its size (files), link target (links) or "dir".
     */
    private Map<String, String> tree() throws Exception {
        Map<String, String> tree = new TreeMap<>();
        try (Stream<Path> files = Files.walk(agent.root)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (p.startsWith(agent.config.stagingDir()) || p.equals(agent.config.auditLog())
                        || p.startsWith(agent.config.journalDir())) {
                    continue;
                }
                String what = Files.isSymbolicLink(p) ? "-> " + Files.readSymbolicLink(p)
                        : Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) ? Files.size(p) + " bytes" : "dir";
                tree.put(agent.root.relativize(p).toString(), what);
            }
        }
        try (Stream<Path> files = Files.walk(outside)) {
            files.forEach(p -> tree.put("outside:" + outside.relativize(p), "present"));
        }
        return tree;
    }
}
