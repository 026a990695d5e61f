package dev.etcdrescue.agent.it;

import org.junit.jupiter.api.Tag;
import static dev.etcdrescue.agent.testing.AgentFixture.header;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.testsupport.LocalEtcd;
import dev.etcdrescue.testsupport.FreePorts;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.proto.v1.DownloadSnapshotRequest;
import dev.etcdrescue.proto.v1.LocalEtcdAccess;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * DownloadSnapshot of the local member: the agent runs the real etcdctl against a real etcd on
 * loopback and streams the snapshot over real mTLS; refusals name the field and leave nothing behind.
 */
@Tag("etcd")
@Timeout(120)
class LocalSnapshotTest {
    private static final String OP = "op-local-snap";
    private static final int CHUNK = 64 * 1024;

    @TempDir
    Path tmp;
    private AgentFixture agent;
    private LocalEtcd etcd;

    @BeforeEach
    void start() throws Exception {
        agent = new AgentFixture(tmp.resolve("host"));
        agent.claim(OP);
    }

    @AfterEach
    void stop() {
        if (etcd != null) {
            etcd.close();
        }
        agent.close();
    }

    @Test
    void theLocalMemberIsSnapshottedStreamedAndTheTempFileRemoved() throws Exception {
        etcd = LocalEtcd.startFresh(tmp.resolve("etcd-data"), tmp.resolve("etcd.log"));
        for (int i = 0; i < 200; i++) {
            etcd.etcdctl("put", "/local/key-" + i, "value-" + i + "-" + "x".repeat(1000));
        }
        long revision = new ObjectMapper().readTree(etcd.etcdctl("endpoint", "status", "-w", "json"))
                .get(0).get("Status").get("header").get("revision").asLong();

        Download got = download(access(etcd.clientUrl().toString()));

        assertThat(got.chunks).as("several chunks of at most " + CHUNK).isGreaterThan(4);
        assertThat(got.finalSize).isEqualTo(got.bytes.length);
        assertThat(got.finalSha256).isEqualTo(sha256(got.bytes));
        assertThat(got.bytes.length % 512).as("etcd's SHA-256 trailer is kept").isEqualTo(32);
        Path file = Files.write(tmp.resolve("got.db"), got.bytes);
        JsonNode status = new ObjectMapper().readTree(etcd.etcdctl("snapshot", "status", file.toString(), "-w", "json"));
        assertThat(status.get("revision").asLong()).isEqualTo(revision);
        assertThat(status.get("totalKey").asLong()).isGreaterThanOrEqualTo(200);
        assertThat(stagingLeftovers()).as("the temp snapshot is removed").isEmpty();
        assertThat(Files.readString(agent.config.auditLog()))
                .contains("DownloadSnapshot local " + etcd.clientUrl())
                .contains("STARTED").contains("OK");
    }

    @Test
    void anHttpsMemberIsReachedWithTlsFilesBesideItsData() throws Exception {
        CertificateAuthority etcdCa = CertificateAuthority.create("etcd test CA", Duration.ofDays(1));
        IssuedCertificate member = etcdCa.issueEtcdMember("m0", List.of("127.0.0.1"), Duration.ofDays(1));
        Path pki = Files.createDirectories(agent.dataRoot.resolve("pki"));
        etcdCa.writeTo(pki.resolve("ca.pem"), tmp.resolve("ca-key.pem"));
        member.writeTo(pki.resolve("member.pem"), pki.resolve("member-key.pem"));
        try (TlsEtcd secure = TlsEtcd.start(tmp.resolve("tls-data"), pki, tmp.resolve("tls-etcd.log"))) {
            Download got = download(access(secure.url).setCaFile(pki.resolve("ca.pem").toString())
                    .setCertFile(pki.resolve("member.pem").toString()).setKeyFile(pki.resolve("member-key.pem").toString()));
            assertThat(got.finalSha256).isEqualTo(sha256(got.bytes));
            assertThat(got.bytes.length % 512).isEqualTo(32);
        }
        assertThat(stagingLeftovers()).isEmpty();
    }

    @Test
    void anEndpointOfAnotherHostIsRefused() {
        assertThatThrownBy(() -> download(access("http://192.0.2.10:2379")))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription())
                            .contains("local.endpoint http://192.0.2.10:2379 is not an address of this host");
                });
    }

    @Test
    void aHostNameIsRefusedWithoutBeingResolved() {
        assertThatThrownBy(() -> download(access("http://etcd.example.com:2379")))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("local.endpoint", "resolves no names");
                });
    }

    @Test
    void aTlsFileOutsideTheAllowedDirsIsRefused() {
        // The agent's own CA file: readable by the agent, but not a place etcd TLS files may be taken from.
        String outside = agent.certs.dir.resolve("ca.pem").toString();
        assertThatThrownBy(() -> download(access("https://127.0.0.1:" + FreePorts.loopback()).setCaFile(outside)))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription())
                            .contains("local.ca_file " + outside + " is outside the allowed roots");
                });
    }

    @Test
    void aPasswordWithoutUserIsRefused() {
        assertThatThrownBy(() -> download(access("http://127.0.0.1:2379").setPassword("secret")))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("local.password is set but local.username is empty");
                });
    }

    @Test
    void aStoppedMemberFailsWithEtcdctlsReasonAndLeavesNothing() {
        String url = "http://127.0.0.1:" + FreePorts.loopback();
        assertThatThrownBy(() -> download(access(url)))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription())
                            .contains("etcdctl endpoint status against " + url + " exited with 1")
                            .contains("connect: connection refused");
                });
        assertThat(stagingLeftovers()).isEmpty();
    }

    @Test
    void withoutTheClaimNothingRuns() throws Exception {
        var request = DownloadSnapshotRequest.newBuilder().setHeader(header("op-other"))
                .setLocal(access("http://127.0.0.1:2379")).build();
        assertThatThrownBy(() -> agent.coordinator().downloadSnapshot(request).hasNext())
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));
    }

    private static LocalEtcdAccess.Builder access(String endpoint) {
        return LocalEtcdAccess.newBuilder().setEndpoint(endpoint);
    }

    private record Download(byte[] bytes, int chunks, String finalSha256, long finalSize) {}

    private Download download(LocalEtcdAccess.Builder access) throws IOException {
        Iterator<SnapshotChunk> chunks = agent.coordinator().downloadSnapshot(DownloadSnapshotRequest.newBuilder()
                .setHeader(header(OP)).setChunkSize(CHUNK).setLocal(access).build());
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        int count = 0;
        String sha = "";
        long size = -1;
        while (chunks.hasNext()) {
            SnapshotChunk chunk = chunks.next();
            assertThat(chunk.getOffset()).isEqualTo(received.size());
            assertThat(chunk.getData().size()).isLessThanOrEqualTo(CHUNK);
            received.write(chunk.getData().toByteArray());
            count++;
            if (chunk.getLast()) {
                sha = chunk.getFinalSha256();
                size = chunk.getFinalSize();
            }
        }
        return new Download(received.toByteArray(), count, sha, size);
    }

    private List<Path> stagingLeftovers() {
        Path staging = agent.config.stagingDir();
        if (!Files.isDirectory(staging)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(staging)) {
            return files.filter(p -> p.getFileName().toString().startsWith("local-snapshot-")).toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    /** An etcd serving clients over https with client-certificate auth, stopped by its pid. */
    private static final class TlsEtcd implements AutoCloseable {
        final Process process;
        final String url;

        private TlsEtcd(Process process, String url) {
            this.process = process;
            this.url = url;
        }

        static TlsEtcd start(Path data, Path pki, Path log) throws Exception {
            String url = "https://127.0.0.1:" + FreePorts.loopback();
            String peer = "http://127.0.0.1:" + FreePorts.loopback();
            List<String> argv = List.of(LocalEtcd.ETCD.toString(), "--name", "m0", "--data-dir", data.toString(),
                    "--listen-client-urls", url, "--advertise-client-urls", url,
                    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "m0=" + peer,
                    "--cert-file", pki.resolve("member.pem").toString(), "--key-file", pki.resolve("member-key.pem").toString(),
                    "--trusted-ca-file", pki.resolve("ca.pem").toString(), "--client-cert-auth");
            Process process = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(new File("/dev/null")).start();
            TlsEtcd etcd = new TlsEtcd(process, url);
            try {
                etcd.awaitHealthy(pki, Duration.ofSeconds(20));
            } catch (Exception e) {
                etcd.close();
                throw e;
            }
            return etcd;
        }

        private void awaitHealthy(Path pki, Duration timeout) throws Exception {
            List<String> argv = new ArrayList<>(List.of(LocalEtcd.ETCDCTL.toString(), "--endpoints", url,
                    "--cacert", pki.resolve("ca.pem").toString(), "--cert", pki.resolve("member.pem").toString(),
                    "--key", pki.resolve("member-key.pem").toString(), "endpoint", "health", "--command-timeout=1s"));
            Instant until = Instant.now().plus(timeout);
            while (Instant.now().isBefore(until)) {
                if (!process.isAlive()) {
                    throw new IOException("etcd exited with " + process.exitValue());
                }
                Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .start();
                if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    return;
                }
                p.destroyForcibly();
                Thread.sleep(100);
            }
            throw new IOException("etcd at " + url + " not healthy within " + timeout);
        }

        @Override
        public void close() {
            ProcessHandle handle = process.toHandle();
            handle.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    handle.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                handle.destroyForcibly();
            }
        }
    }
}
