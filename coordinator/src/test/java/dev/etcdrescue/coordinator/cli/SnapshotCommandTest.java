package dev.etcdrescue.coordinator.cli;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.snapshotformat.bolt.EtcdTestData;
import dev.etcdrescue.testsupport.LocalEtcd;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** 'etcd-rescue snapshot save|status' against a real etcd 3.4, checked against etcdctl. */
@Tag("etcd")
@Timeout(120)
class SnapshotCommandTest {
    @TempDir static Path shared;
    static LocalEtcd etcd;
    static Path saved;
    static JsonNode savedJson;

    @TempDir Path tmp;
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @BeforeAll
    static void startAndSave() throws Exception {
        etcd = LocalEtcd.start(shared, "cmd");
        EtcdTestData.fill(etcd.clientUrl(), 800, 2);
        saved = shared.resolve("backup.db");
        SnapshotCommandTest first = new SnapshotCommandTest();
        int exit = first.run("save", "--endpoints", "http://127.0.0.1:1," + etcd.clientUrl(), saved.toString(), "-w", "json");
        assertThat(exit).as(first.err.toString()).isEqualTo(ExitCodes.OK);
        savedJson = new ObjectMapper().readTree(first.out.toString());
    }

    @AfterAll
    static void stop() throws Exception {
        if (etcd != null) {
            etcd.close();
        }
    }

    @Test
    void saveWritesACheckedSnapshotThatEtcdctlAgreesWith() throws Exception {
        JsonNode etcdctl = EtcdTestData.status("/usr/bin/etcdctl", saved);
        for (String field : new String[] {"hash", "revision", "totalKey", "totalSize"}) {
            assertThat(savedJson.get(field).asLong()).as(field).isEqualTo(etcdctl.get(field).asLong());
        }
        assertThat(savedJson.get("revision").asLong()).isEqualTo(1 + 800 + 80 + 32 + 2);
        assertThat(savedJson.get("file").asText()).isEqualTo(saved.toString());
        assertThat(savedJson.get("endpoint").asText()).isEqualTo(etcd.clientUrl().toString());
        assertThat(savedJson.get("trailer").asText()).isEqualTo("valid");
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(saved)))
                .as("a snapshot holds every key").isEqualTo("rw-------");
        assertThat(savedJson.get("size").asLong()).isEqualTo(Files.size(saved));
        assertThat(savedJson.get("sha256").asText()).isEqualTo(
                HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(saved))));
        assertThat(shared.resolve("backup.db.part")).doesNotExist();
    }

    @Test
    void statusOfTheSavedFileAgreesWithSaveAndWithEtcdctlsTable() throws Exception {
        assertThat(run("status", saved.toString(), "--output", "json")).isEqualTo(ExitCodes.OK);
        JsonNode status = new ObjectMapper().readTree(out.toString());
        for (String field : new String[] {"hash", "revision", "totalKey", "totalSize", "sha256", "size", "trailer"}) {
            assertThat(status.get(field)).as(field).isEqualTo(savedJson.get(field));
        }

        out.getBuffer().setLength(0);
        assertThat(run("status", saved.toString())).isEqualTo(ExitCodes.OK);
        String table = EtcdTestData.run("/usr/bin/etcdctl", "snapshot", "status", saved.toString(), "-w", "table");
        String hash = status.get("hashHex").asText();
        assertThat(table).contains("| " + hash + " |");
        assertThat(out.toString()).contains("file              " + saved, "trailer           valid",
                "revision          " + status.get("revision").asLong(), "hash              " + hash);
    }

    @Test
    void saveRefusesAnExistingFileAndLeavesItAlone() throws Exception {
        Path existing = Files.writeString(tmp.resolve("existing.db"), "keep me");
        assertThat(run("save", "--endpoints", etcd.clientUrl().toString(), existing.toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("refusing to overwrite " + existing);
        assertThat(Files.readString(existing)).isEqualTo("keep me");
        assertThat(tmp.resolve("existing.db.part")).doesNotExist();
    }

    @Test
    void saveWithoutAnAnsweringEndpointFailsNamingIt() {
        Path target = tmp.resolve("none.db");
        assertThat(run("save", "--endpoints", "http://127.0.0.1:1", "--dial-timeout", "2", target.toString()))
                .isEqualTo(ExitCodes.FAILED);
        assertThat(err.toString()).contains("no endpoint answered: http://127.0.0.1:1 (");
        assertThat(target).doesNotExist();
    }

    @Test
    void saveRefusesBadEndpoints() {
        assertThat(run("save", "--endpoints", "127.0.0.1:2379", tmp.resolve("a.db").toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("'127.0.0.1:2379' is not http://HOST:PORT");
        assertThat(run("save", "--endpoints", etcd.clientUrl().toString(), tmp.resolve("no/such/dir/a.db").toString()))
                .isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("does not exist");
    }

    @Test
    void statusOfGarbageIsOneLineAndExitTwo() throws Exception {
        byte[] random = new byte[16 * 4096];
        new Random(3).nextBytes(random);
        Path garbage = Files.write(tmp.resolve("garbage.db"), random);
        assertThat(run("status", garbage.toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).startsWith("etcd-rescue: " + garbage + ": not a bbolt file: bad magic at page 0");
        assertThat(err.toString().lines()).hasSize(1);
        assertThat(out.toString()).isEmpty();

        Path empty = Files.write(tmp.resolve("empty.db"), new byte[0]);
        assertThat(run("status", empty.toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains(empty + ": empty file (0 bytes)");

        assertThat(run("status", tmp.resolve("missing.db").toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("no such file: " + tmp.resolve("missing.db")).doesNotContain("Exception");
    }

    @Test
    void statusOfATruncatedSnapshotSaysSo() throws Exception {
        byte[] bytes = Files.readAllBytes(saved);
        Path cut = Files.write(tmp.resolve("cut.db"), Arrays.copyOf(bytes, bytes.length / 3));
        assertThat(run("status", cut.toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains(cut + ": truncated: meta says ").doesNotContain("\tat ");
    }

    @Test
    void statusReportsAbsentAndMismatchedTrailers() throws Exception {
        byte[] bytes = Files.readAllBytes(saved);
        Path raw = Files.write(tmp.resolve("raw.db"), Arrays.copyOf(bytes, bytes.length - 32));
        assertThat(run("status", raw.toString(), "-w", "json")).isEqualTo(ExitCodes.OK);
        JsonNode status = new ObjectMapper().readTree(out.toString());
        assertThat(status.get("trailer").asText()).isEqualTo("absent");
        assertThat(status.get("hash")).isEqualTo(savedJson.get("hash"));

        byte[] flipped = bytes.clone();
        flipped[flipped.length - 1] ^= 0x01;
        Path mismatch = Files.write(tmp.resolve("mismatch.db"), flipped);
        out.getBuffer().setLength(0);
        assertThat(run("status", mismatch.toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(out.toString()).contains("trailer           mismatch");
        assertThat(err.toString()).contains(mismatch + ": SHA-256 trailer mismatch");
    }

    @Test
    void helpHasExamplesAndABareCommandIsAUsageError() {
        assertThat(run("save", "--help")).isEqualTo(ExitCodes.OK);
        assertThat(out.toString()).contains("Examples:", "--endpoints", "FILE.part", "Exit codes:", "$(date +%F).db");
        assertThat(err.toString()).isEmpty();
        assertThat(run("status", "--help")).isEqualTo(ExitCodes.OK);
        assertThat(out.toString()).contains("mismatch", "etcd-rescue snapshot status backup.db");
        assertThat(run()).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("missing command");
    }

    private int run(String... args) {
        CommandLine cl = new CommandLine(new SnapshotCommand());
        cl.setExecutionExceptionHandler(new UserErrorHandler());
        cl.setExitCodeExceptionMapper(UserErrorHandler::exitCodeOf);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }
}
