package dev.etcdrescue.agent.preflight;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.agent.spec.MemberPlan;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.proto.v1.EnvSetting;
import dev.etcdrescue.proto.v1.Finding;
import dev.etcdrescue.proto.v1.Severity;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Real certificates from two CAs, read from files as etcd would read them. */
@Timeout(30)
class TlsFilesTest {
    private static final Duration DAY = Duration.ofDays(1);
    @TempDir
    Path dir;
    private CertificateAuthority cluster;
    private Path caFile;

    @BeforeEach
    void clusterCa() throws Exception {
        cluster = CertificateAuthority.create("cluster-ca", DAY);
        caFile = dir.resolve("ca.pem");
        cluster.writeTo(caFile, dir.resolve("ca-key.pem"));
    }

    @Test
    void aPeerCertificateOfTheClusterCaCoveringThePeerUrlPasses() throws Exception {
        Path cert = issue(cluster, "good", List.of("127.0.0.5", "etcd-5.example"));

        assertThat(TlsFiles.check(plan("https://127.0.0.5:2380", "https://etcd-5.example:2379"), tls(cert), Instant.now())).isEmpty();
    }

    @Test
    void aPeerCertificateFromAnotherCaIsRefusedNamingFileAndCa() throws Exception {
        CertificateAuthority other = CertificateAuthority.create("other-ca", DAY);
        Path cert = issue(other, "wrong-ca", List.of("127.0.0.5"));

        List<Finding> findings = TlsFiles.check(plan("https://127.0.0.5:2380", "https://127.0.0.5:2379"), tls(cert), Instant.now());

        assertThat(findings).singleElement().satisfies(f -> {
            assertThat(f.getSeverity()).isEqualTo(Severity.ERROR);
            assertThat(f.getCode()).isEqualTo("tls-ca-mismatch");
            assertThat(f.getField()).isEqualTo("ETCD_PEER_CERT_FILE");
            assertThat(f.getMessage()).contains(cert.toString(), "CN=other-ca", caFile.toString(), "CN=cluster-ca");
        });
    }

    @Test
    void aPeerCertificateWithoutThePeerAddressIsRefusedAndAClientOneWarned() throws Exception {
        Path cert = issue(cluster, "wrong-san", List.of("127.0.0.9"));

        List<Finding> findings = TlsFiles.check(plan("https://127.0.0.5:2380", "https://127.0.0.5:2379"), tls(cert), Instant.now());

        assertThat(findings).extracting(f -> f.getSeverity() + " " + f.getCode() + " " + f.getField())
                .containsExactly("ERROR tls-san-mismatch ETCD_PEER_CERT_FILE", "WARNING tls-san-mismatch ETCD_CERT_FILE");
        assertThat(findings.get(0).getMessage()).contains(cert.toString(), "127.0.0.9]", "not 127.0.0.5 of member.peer_urls"
                + " https://127.0.0.5:2380");
    }

    @Test
    void anExpiredCertificateAndAMissingFileAreRefused() throws Exception {
        Path cert = issue(cluster, "expires", List.of("127.0.0.5"));
        List<Finding> later = TlsFiles.check(plan("https://127.0.0.5:2380", "http://127.0.0.5:2379"), tls(cert),
                Instant.now().plus(Duration.ofDays(3)));
        assertThat(later).extracting(Finding::getCode).contains("tls-cert-expired");

        List<Finding> missing = TlsFiles.check(plan("https://127.0.0.5:2380", "http://127.0.0.5:2379"),
                tls(dir.resolve("absent.pem")), Instant.now());
        assertThat(missing).extracting(f -> f.getCode() + " " + f.getField()).contains("tls-file-unreadable ETCD_PEER_CERT_FILE");
    }

    @Test
    void plainHttpUrlsAreNotChecked() throws Exception {
        Path cert = issue(cluster, "http", List.of("127.0.0.9"));

        assertThat(TlsFiles.check(plan("http://127.0.0.5:2380", "http://127.0.0.5:2379"), tls(cert), Instant.now())).isEmpty();
    }

    private Path issue(CertificateAuthority ca, String name, List<String> addresses) throws Exception {
        Path cert = dir.resolve(name + ".pem");
        ca.issueEtcdMember(name, addresses, DAY).writeTo(cert, dir.resolve(name + "-key.pem"));
        return cert;
    }

    private List<EnvSetting> tls(Path cert) {
        return List.of(setting("ETCD_PEER_CERT_FILE", cert.toString()), setting("ETCD_PEER_TRUSTED_CA_FILE", caFile.toString()),
                setting("ETCD_CERT_FILE", cert.toString()), setting("ETCD_TRUSTED_CA_FILE", caFile.toString()));
    }

    private static EnvSetting setting(String key, String value) {
        return EnvSetting.newBuilder().setKey(key).setValue(value).build();
    }

    private static MemberPlan plan(String peer, String client) {
        return new MemberPlan("m-5", List.of(peer), List.of(client), List.of(peer), List.of(client), Path.of("/var/lib/etcd/m5"),
                Optional.empty(), "m-5=" + peer, "tok");
    }
}
