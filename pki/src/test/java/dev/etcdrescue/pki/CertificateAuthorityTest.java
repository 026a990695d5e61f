package dev.etcdrescue.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class CertificateAuthorityTest {
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final int DNS = 2;
    private static final int IP = 7;

    private final CertificateAuthority ca = CertificateAuthority.create("etcd-rescue test CA", Duration.ofDays(1));

    @TempDir Path dir;

    @Test
    void caIsSelfSignedEcCaThatMaySignCertificates() throws Exception {
        X509Certificate cert = ca.certificate();
        assertThat(cert.getBasicConstraints()).isGreaterThanOrEqualTo(0);
        assertThat(cert.getKeyUsage()[5]).as("keyCertSign").isTrue();
        assertThat(cert.getSigAlgName()).isEqualToIgnoringCase("SHA256withECDSA");
        assertThat(cert.getPublicKey().getAlgorithm()).isEqualTo("EC");
        assertThat(cert.getSubjectX500Principal()).isEqualTo(cert.getIssuerX500Principal());
        cert.verify(cert.getPublicKey());
        assertThat(SubjectNames.commonName(cert)).contains("etcd-rescue test CA");
        assertThat(Role.of(cert)).isEmpty();
    }

    @Test
    void coordinatorCertificateCarriesItsRoleAndClientAuthOnly() throws Exception {
        X509Certificate cert = ca.issueCoordinator("etcd-rescue-coordinator", Duration.ofHours(1)).certificate();
        cert.verify(ca.certificate().getPublicKey());
        assertThat(Role.of(cert)).contains(Role.COORDINATOR);
        assertThat(SubjectNames.commonName(cert)).contains("etcd-rescue-coordinator");
        assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("OU=coordinator,CN=etcd-rescue-coordinator");
        assertThat(cert.getExtendedKeyUsage()).containsExactly(CLIENT_AUTH);
        assertThat(cert.getBasicConstraints()).isEqualTo(-1);
        assertThat(cert.getSubjectAlternativeNames()).isNull();
    }

    @Test
    void agentCertificateHasIpAndDnsSansAndBothUsages() throws Exception {
        X509Certificate cert = ca.issueAgent("lv-etcd-research-beta-0",
                List.of("192.168.149.60", "etcd0.example.org", "[::1]"), Duration.ofHours(1)).certificate();
        cert.verify(ca.certificate().getPublicKey());
        assertThat(Role.of(cert)).contains(Role.AGENT);
        assertThat(SubjectNames.commonName(cert)).contains("lv-etcd-research-beta-0");
        assertThat(cert.getExtendedKeyUsage()).containsExactlyInAnyOrder(SERVER_AUTH, CLIENT_AUTH);
        assertThat(sans(cert)).containsExactly(
                List.of(IP, "192.168.149.60"),
                List.of(DNS, "etcd0.example.org"),
                List.of(IP, "0:0:0:0:0:0:0:1"),
                List.of(DNS, "lv-etcd-research-beta-0"));
    }

    @Test
    void hostNameThatIsNoDnsNameIsNotASan() throws Exception {
        X509Certificate cert = ca.issueAgent("beta_0", List.of("10.0.0.1"), Duration.ofHours(1)).certificate();
        assertThat(sans(cert)).containsExactly(List.of(IP, "10.0.0.1"));
    }

    @Test
    void addressThatIsNeitherIpNorDnsNameIsRefused() {
        assertThatThrownBy(() -> ca.issueAgent("h", List.of("bad name!"), Duration.ofHours(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'bad name!'");
    }

    @Test
    void validityIsAsRequested() throws Exception {
        Instant before = Instant.now();
        X509Certificate cert = ca.issueCoordinator("c", Duration.ofDays(30)).certificate();
        assertThat(cert.getNotBefore().toInstant()).isBefore(before);
        assertThat(cert.getNotAfter().toInstant())
                .isBetween(before.plus(Duration.ofDays(30)).minusSeconds(5), before.plus(Duration.ofDays(30)).plusSeconds(60));
        cert.checkValidity();
    }

    @Test
    void specMakesExpiredAndNotYetValidCertificates() {
        Instant now = Instant.now();
        X509Certificate expired = ca.issue(new CertificateSpec(Role.COORDINATOR, "old", List.of(),
                now.minus(Duration.ofDays(2)), now.minus(Duration.ofDays(1)))).certificate();
        X509Certificate future = ca.issue(new CertificateSpec(Role.AGENT, "future", List.of("127.0.0.1"),
                now.plus(Duration.ofDays(1)), now.plus(Duration.ofDays(2)))).certificate();
        assertThatThrownBy(expired::checkValidity).isInstanceOf(CertificateExpiredException.class);
        assertThatThrownBy(future::checkValidity).isInstanceOf(CertificateNotYetValidException.class);
        assertThat(Role.of(future)).contains(Role.AGENT);
    }

    @Test
    void specRejectsAnEmptyValidityWindow() {
        Instant now = Instant.now();
        assertThatThrownBy(() -> new CertificateSpec(Role.AGENT, "x", List.of(), now, now))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void pemRoundTripKeepsCertificateAndKeyAndWritesPkcs8WithMode0600() throws Exception {
        IssuedCertificate agent = ca.issueAgent("h", List.of("127.0.0.1"), Duration.ofHours(1));
        Path cert = dir.resolve("tls/agent.pem");
        Path key = dir.resolve("tls/agent-key.pem");
        agent.writeTo(cert, key);

        assertThat(Files.readString(key)).startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(Files.readString(cert)).startsWith("-----BEGIN CERTIFICATE-----");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(cert))).isEqualTo("rw-r--r--");
        assertThat(Pem.readCertificate(cert)).isEqualTo(agent.certificate());
        assertThat(Pem.readPrivateKey(key).getEncoded()).isEqualTo(agent.privateKey().getEncoded());
    }

    @Test
    void caRoundTripsThroughFilesAndStillIssues() throws Exception {
        ca.writeTo(dir.resolve("ca.pem"), dir.resolve("ca-key.pem"));
        CertificateAuthority loaded = CertificateAuthority.load(dir.resolve("ca.pem"), dir.resolve("ca-key.pem"));
        assertThat(loaded.certificate()).isEqualTo(ca.certificate());
        loaded.issueCoordinator("c", Duration.ofHours(1)).certificate().verify(ca.certificate().getPublicKey());
    }

    @Test
    void loadRefusesAKeyOfAnotherCertificate() throws Exception {
        CertificateAuthority other = CertificateAuthority.create("other", Duration.ofDays(1));
        ca.writeTo(dir.resolve("ca.pem"), dir.resolve("ca-key.pem"));
        other.writeTo(dir.resolve("other.pem"), dir.resolve("other-key.pem"));
        assertThatThrownBy(() -> CertificateAuthority.load(dir.resolve("ca.pem"), dir.resolve("other-key.pem")))
                .hasMessageContaining("is not the private key of the certificate");
    }

    @Test
    void writeRefusesToOverwriteAndLeavesBothFilesAlone() throws Exception {
        Path cert = dir.resolve("ca.pem");
        Path key = dir.resolve("ca-key.pem");
        Files.writeString(key, "precious");
        assertThatThrownBy(() -> ca.writeTo(cert, key))
                .isInstanceOf(FileAlreadyExistsException.class)
                .hasMessageContaining(key.toString())
                .hasMessageContaining("refusing to overwrite");
        assertThat(cert).doesNotExist();
        assertThat(Files.readString(key)).isEqualTo("precious");
    }

    @Test
    void readsTraditionalEcKeysToo() throws Exception {
        Path key = dir.resolve("ec.pem");
        // An openssl "ecparam -genkey" style key (SEC1), generated once for this test.
        Files.writeString(key, """
                -----BEGIN EC PRIVATE KEY-----
                MHcCAQEEIMaHe91Av+GPzOSrR0kttpMOH2duajpfhNVPiTGp3+BsoAoGCCqGSM49
                AwEHoUQDQgAEuZMppCdlSVGDlBLzl37KMp7L5NtZeQTzGIConRp4v+uvW/nLhcSd
                X4EHXZij7RO8G2gLFbM37x4Skmi96Vq9OA==
                -----END EC PRIVATE KEY-----
                """);
        assertThat(Pem.readPrivateKey(key).getAlgorithm()).isEqualTo("EC");
    }

    private static List<List<?>> sans(X509Certificate cert) throws Exception {
        Collection<List<?>> names = cert.getSubjectAlternativeNames();
        return names == null ? List.of() : new ArrayList<>(names);
    }
}
