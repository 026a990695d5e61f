package dev.etcdrescue.pki;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Certificates for etcd itself: members (client and peer URLs) and the coordinator's etcd client. */
@Timeout(60)
class EtcdCertificatesTest {
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final int DNS = 2;
    private static final int IP = 7;

    private final CertificateAuthority ca = CertificateAuthority.create("etcd-rescue etcd CA", Duration.ofDays(1));

    @TempDir Path dir;

    @Test
    void memberCertificateServesAndDialsWithTheHostsAddressesAsSans() throws Exception {
        X509Certificate cert = ca.issueEtcdMember("etcd-0.example.org", List.of("192.168.149.60", "127.0.0.1"),
                Duration.ofHours(1)).certificate();
        cert.verify(ca.certificate().getPublicKey());
        assertThat(Role.of(cert)).contains(Role.ETCD_MEMBER);
        assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("OU=etcd-member,CN=etcd-0.example.org");
        assertThat(cert.getExtendedKeyUsage()).containsExactlyInAnyOrder(SERVER_AUTH, CLIENT_AUTH);
        assertThat(new ArrayList<>(cert.getSubjectAlternativeNames())).containsExactly(
                List.of(IP, "192.168.149.60"), List.of(IP, "127.0.0.1"), List.of(DNS, "etcd-0.example.org"));
    }

    @Test
    void clientCertificateIsClientAuthOnlyAndItsCnIsTheEtcdUser() throws Exception {
        X509Certificate cert = ca.issueEtcdClient("root", Duration.ofHours(1)).certificate();
        assertThat(Role.of(cert)).contains(Role.ETCD_CLIENT);
        assertThat(SubjectNames.commonName(cert)).contains("root");
        assertThat(cert.getExtendedKeyUsage()).containsExactly(CLIENT_AUTH);
        assertThat(cert.getSubjectAlternativeNames()).isNull();
    }

    /** kubeadm's etcd CA has an RSA key in PKCS#1 PEM: it must load and sign (SHA256withRSA). */
    @Test
    void anExistingRsaCaInTraditionalPemIssuesMemberCertificates() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        KeyPair keys = generator.generateKeyPair();
        X500Name subject = new X500Name("CN=etcd-ca");
        Instant now = Instant.now();
        X509Certificate caCert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(subject,
                BigInteger.ONE, Date.from(now.minusSeconds(60)), Date.from(now.plusSeconds(3600)), subject, keys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                .build(new JcaContentSignerBuilder("SHA256withRSA").build(keys.getPrivate())));
        Path certFile = dir.resolve("ca.crt");
        Path keyFile = dir.resolve("ca.key");
        Files.writeString(certFile, Pem.toPem(caCert));
        try (JcaPEMWriter writer = new JcaPEMWriter(Files.newBufferedWriter(keyFile))) {
            writer.writeObject(keys); // "BEGIN RSA PRIVATE KEY", as kubeadm writes it
        }
        assertThat(Files.readString(keyFile)).startsWith("-----BEGIN RSA PRIVATE KEY-----");

        CertificateAuthority rsa = CertificateAuthority.load(certFile, keyFile);
        X509Certificate member = rsa.issueEtcdMember("m", List.of("10.0.0.1"), Duration.ofHours(1)).certificate();
        member.verify(caCert.getPublicKey());
        assertThat(member.getSigAlgName()).isEqualToIgnoringCase("SHA256withRSA");
        assertThat(TlsContexts.etcdClient(null, null, certFile).isClient()).isTrue();
    }

    @Test
    void etcdClientContextReadsTraditionalKeysAndCaBundles() throws Exception {
        IssuedCertificate client = ca.issueEtcdClient("etcd-rescue", Duration.ofHours(1));
        Path cert = dir.resolve("client.pem");
        Path key = dir.resolve("client-key.pem");
        Path pkcs8 = dir.resolve("client-pkcs8.pem");
        client.writeTo(cert, pkcs8);
        // openssl's own traditional (SEC1) form, as 'openssl ecparam -genkey' or cfssl write it.
        Process openssl = new ProcessBuilder("openssl", "ec", "-in", pkcs8.toString(), "-out", key.toString())
                .redirectErrorStream(true).start();
        assertThat(openssl.waitFor()).as(new String(openssl.getInputStream().readAllBytes())).isZero();
        assertThat(Files.readString(key)).startsWith("-----BEGIN EC PRIVATE KEY-----");
        CertificateAuthority other = CertificateAuthority.create("other", Duration.ofDays(1));
        Path bundle = dir.resolve("bundle.pem");
        Files.writeString(bundle, Pem.toPem(other.certificate()) + Pem.toPem(ca.certificate()));
        assertThat(TlsContexts.etcdClient(cert, key, bundle).isClient()).isTrue();
    }
}
