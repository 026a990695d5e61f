package dev.etcdrescue.coordinator.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.EtcdAccess;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.inventory.SnapshotSource;
import dev.etcdrescue.coordinator.report.RecoveryReport.Check;
import dev.etcdrescue.coordinator.verify.ClusterVerifier;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.Pem;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The coordinator's etcd connections against a real etcd 3.4 with https, client-certificate auth
 * and etcd's auth enabled (user root with a password): snapshot and verify over TLS, the password
 * from a file or the environment, and the refusals when something is missing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class SecureEtcdTest {
    private static final String PASSWORD = "pw-" + Long.toHexString(System.nanoTime());

    private Path dir;
    private Process etcd;
    private URI client;
    private URI peer;
    private Path ca;

    @BeforeAll
    void startEtcdWithTlsAndAuth() throws Exception {
        dir = Files.createTempDirectory("secure-etcd-");
        CertificateAuthority authority = CertificateAuthority.create("test etcd CA", Duration.ofDays(1));
        ca = dir.resolve("ca.pem");
        Pem.writeCertificate(ca, authority.certificate());
        authority.issueEtcdMember("solo", List.of("127.0.0.1"), Duration.ofDays(1)).writeTo(dir.resolve("member.pem"), dir.resolve("member-key.pem"));
        authority.issueEtcdClient("root", Duration.ofDays(1)).writeTo(dir.resolve("root.pem"), dir.resolve("root-key.pem"));
        authority.issueEtcdClient("nobody", Duration.ofDays(1)).writeTo(dir.resolve("nobody.pem"), dir.resolve("nobody-key.pem"));
        int clientPort = freePort();
        int peerPort = freePort();
        client = URI.create("https://127.0.0.1:" + clientPort);
        peer = URI.create("http://127.0.0.1:" + peerPort);
        etcd = new ProcessBuilder("/usr/bin/etcd", "--name", "solo", "--data-dir", dir.resolve("data").toString(),
                "--listen-client-urls", client.toString(), "--advertise-client-urls", client.toString(),
                "--listen-peer-urls", peer.toString(), "--initial-advertise-peer-urls", peer.toString(),
                "--initial-cluster", "solo=" + peer, "--cert-file", dir.resolve("member.pem").toString(),
                "--key-file", dir.resolve("member-key.pem").toString(), "--trusted-ca-file", ca.toString(), "--client-cert-auth")
                .redirectErrorStream(true).redirectOutput(dir.resolve("etcd.log").toFile()).start();
        waitListening(clientPort);
        etcdctl("put", "/registry/a", "1");
        etcdctl("user", "add", "root:" + PASSWORD);
        etcdctl("auth", "enable");
        etcdctl("put", "/registry/b", "2");
    }

    @AfterAll
    void stopEtcd() throws Exception {
        if (etcd != null) {
            etcd.destroy();
            if (!etcd.waitFor(10, TimeUnit.SECONDS)) {
                etcd.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void snapshotOverTlsWithAClientCertificateWhoseCnIsRoot() throws Exception {
        SnapshotTaker taker = new SnapshotTaker(clients(access("root", null, null)), Duration.ofSeconds(5));
        SnapshotTaker.Probe probe = taker.probe(List.of(client));
        assertThat(probe.unreachable()).isEmpty();
        SnapshotFile file = taker.take(probe.best().orElseThrow(), dir.resolve("tls.db"), Duration.ofSeconds(30));
        assertThat(file.trailer()).isEqualTo(SnapshotDigest.Trailer.VALID);
    }

    @Test
    void aSurvivorIsAskedWithTheCertificateAloneSoAPasswordNeedsNoQuorum() throws Exception {
        // CN=nobody is no etcd user and the password is not used for an old member: the snapshot is refused
        // (etcd's auth), and the message says what to do.
        SnapshotTaker taker = new SnapshotTaker(clients(access("nobody", "root", passwordFile())), Duration.ofSeconds(5));
        SourceMember source = taker.probe(List.of(client)).best().orElseThrow();
        assertThatThrownBy(() -> taker.take(source, dir.resolve("nobody.db"), Duration.ofSeconds(30)))
                .isInstanceOf(UserException.class).hasMessageContaining("root role").hasMessageContaining("client certificate");
    }

    @Test
    void verifyOverTlsLogsInWithThePasswordFromTheFile() throws Exception {
        ClusterVerifier verifier = new ClusterVerifier(new EtcdClients(Duration.ofSeconds(2)));
        List<Check> checks = verifier.verify(plan(access("nobody", "root", passwordFile())), -1, Optional.empty(), Duration.ofSeconds(20));
        assertThat(checks).extracting(Check::name).contains("every member healthy", "member list matches plan", "hashkv equal");
        assertThat(checks).allSatisfy(c -> assertThat(c.ok()).as(c.name() + ": " + c.detail()).isTrue());
    }

    @Test
    void thePasswordMayComeFromTheEnvironment() throws Exception {
        EtcdClients fromEnv = new EtcdClients(Duration.ofSeconds(2), access("nobody", "root", null),
                Map.of(EtcdAccess.PASSWORD_ENV, PASSWORD));
        List<Check> checks = new ClusterVerifier(fromEnv).verify(plan(EtcdAccess.NONE), -1, Optional.empty(), Duration.ofSeconds(20));
        assertThat(checks).allSatisfy(c -> assertThat(c.ok()).as(c.name() + ": " + c.detail()).isTrue());
        EtcdClients none = new EtcdClients(Duration.ofSeconds(2), access("nobody", "root", null), Map.of());
        assertThatThrownBy(() -> none.forMember(client)).isInstanceOf(UserException.class)
                .hasMessageContaining("set etcd_password_file in the inventory or export ETCD_RESCUE_ETCD_PASSWORD");
    }

    @Test
    void aWrongPasswordFailsVerify() throws Exception {
        Path wrong = Files.writeString(dir.resolve("wrong-password"), "not-it\n");
        List<Check> checks = new ClusterVerifier(new EtcdClients(Duration.ofSeconds(2)))
                .verify(plan(access("nobody", "root", wrong)), -1, Optional.empty(), Duration.ofSeconds(3));
        assertThat(checks.get(0).ok()).isFalse();
        assertThat(checks.get(0).detail()).containsIgnoringCase("authentication failed");
    }

    @Test
    void withoutAClientCertificateOrWithoutTheCaTheMemberCannotBeReached() throws Exception {
        SnapshotTaker noCert = new SnapshotTaker(clients(new EtcdAccess(ca, null, null, null, null)), Duration.ofSeconds(3));
        assertThat(noCert.probe(List.of(client)).alive()).isEmpty();
        SnapshotTaker noCa = new SnapshotTaker(new EtcdClients(Duration.ofSeconds(2)), Duration.ofSeconds(3));
        assertThat(noCa.probe(List.of(client)).unreachable().get(client)).contains("is https but no etcd CA is configured");
        SnapshotTaker missingFiles = new SnapshotTaker(clients(new EtcdAccess(ca, dir.resolve("gone.pem"), dir.resolve("gone-key.pem"),
                null, null)), Duration.ofSeconds(3));
        assertThat(missingFiles.probe(List.of(client)).unreachable().get(client)).contains("cannot use the etcd client TLS files")
                .contains("gone.pem");
    }

    private EtcdAccess access(String certName, String user, Path passwordFile) {
        return new EtcdAccess(ca, dir.resolve(certName + ".pem"), dir.resolve(certName + "-key.pem"), user, passwordFile);
    }

    private EtcdClients clients(EtcdAccess access) {
        return new EtcdClients(Duration.ofSeconds(2), access, Map.of());
    }

    private Path passwordFile() throws IOException {
        return Files.writeString(dir.resolve("password"), PASSWORD + "\n");
    }

    private ClusterPlan plan(EtcdAccess access) {
        MemberPlan m = new MemberPlan("host-0", "solo", "127.0.0.1", "127.0.0.1", 7443, List.of(peer), List.of(client),
                List.of(peer), List.of(client), "/var/lib/etcd/new.etcd", null, "etcd_new", "etcd", null, null);
        return new ClusterPlan("solo", "tok", new SnapshotSource.Endpoints(List.of(client)), Path.of("/pki"), List.of(m), access);
    }

    private void etcdctl(String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of("/usr/bin/etcdctl", "--endpoints", client.toString(), "--cacert", ca.toString(),
                "--cert", dir.resolve("root.pem").toString(), "--key", dir.resolve("root-key.pem").toString()));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
        pb.environment().put("ETCDCTL_API", "3");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("etcdctl " + String.join(" ", args) + " failed: " + out);
        }
    }

    private void waitListening(int port) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        throw new IllegalStateException("etcd did not listen on " + port + "; see " + dir.resolve("etcd.log"));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
