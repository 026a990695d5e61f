package dev.etcdrescue.pki;

import java.io.IOException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Objects;

/** A certificate and its private key, as issued by the {@link CertificateAuthority}. */
public record IssuedCertificate(X509Certificate certificate, PrivateKey privateKey) {
    public IssuedCertificate {
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(privateKey, "privateKey");
    }

    /**
     * Writes the certificate (mode 0644) and the PKCS#8 key (mode 0600) as PEM. Refuses with
     * {@link java.nio.file.FileAlreadyExistsException} if either file exists; then nothing is written.
     */
    public void writeTo(Path certPem, Path keyPem) throws IOException {
        Pem.requireAbsent(certPem, keyPem);
        Pem.writeCertificate(certPem, certificate);
        Pem.writePrivateKey(keyPem, privateKey);
    }
}
