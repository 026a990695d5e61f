package dev.etcdrescue.pki;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;

/**
 * A fleet certificate and its key, read with the JDK alone (the agent runs without BouncyCastle), for
 * signing documents such as a backup's manifest; and the PEM form of a certificate that travels with them.
 */
public record SigningIdentity(X509Certificate certificate, PrivateKey key) {

    /** The certificate of {@code certPem} (the first, the leaf) and the PKCS#8 key of {@code keyPem}. */
    public static SigningIdentity load(Path certPem, Path keyPem) throws IOException {
        X509Certificate certificate = JdkPem.certificates(certPem).get(0);
        PrivateKey key = JdkPem.pkcs8Key(keyPem).orElseThrow(() -> new IOException(keyPem
                + " holds no PKCS#8 key ('-----BEGIN PRIVATE KEY-----'), as 'etcd-rescue pki issue' writes it"));
        return new SigningIdentity(certificate, key);
    }

    /** The first certificate of a PEM file, such as the fleet CA's. */
    public static X509Certificate readCertificate(Path pem) throws IOException {
        return JdkPem.certificates(pem).get(0);
    }

    public static String toPem(X509Certificate certificate) {
        try {
            return "-----BEGIN CERTIFICATE-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(certificate.getEncoded())
                    + "\n-----END CERTIFICATE-----\n";
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot encode certificate " + certificate.getSubjectX500Principal(), e);
        }
    }

    public static X509Certificate fromPem(String pem) throws IOException {
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
        } catch (GeneralSecurityException | ClassCastException e) {
            throw new IOException("not a PEM certificate: " + e.getMessage(), e);
        }
    }
}
