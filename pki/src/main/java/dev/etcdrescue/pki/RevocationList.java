package dev.etcdrescue.pki;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;

/**
 * A CRL of the fleet CA ({@code pki revoke} writes it), read with the JDK alone so the agent needs no
 * BouncyCastle. Its signature must be the CA's. Its nextUpdate is deliberately not enforced: a CRL the
 * operator forgot to refresh must not lock every coordinator out in the middle of an incident, and a
 * listed serial stays revoked however old the list is.
 */
public final class RevocationList {
    private final X509CRL crl;
    private final Path file;

    private RevocationList(X509CRL crl, Path file) {
        this.crl = crl;
        this.file = file;
    }

    /** Reads {@code file} (PEM or DER) and checks that {@code ca} signed it. */
    public static RevocationList load(Path file, X509Certificate ca) throws IOException {
        X509CRL crl;
        try (InputStream in = Files.newInputStream(file)) {
            crl = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(in);
        } catch (GeneralSecurityException | ClassCastException e) {
            throw new IOException(file + " holds no readable CRL: " + e.getMessage(), e);
        }
        if (!crl.getIssuerX500Principal().equals(ca.getSubjectX500Principal())) {
            throw new IOException(file + " is a CRL of " + crl.getIssuerX500Principal() + ", not of the fleet CA "
                    + ca.getSubjectX500Principal());
        }
        try {
            crl.verify(ca.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new IOException(file + " is not signed by the fleet CA: " + e.getMessage(), e);
        }
        return new RevocationList(crl, file);
    }

    /** The first certificate of the fleet CA's PEM file (JDK only), for {@link #load}. */
    public static X509Certificate trustAnchor(Path caPem) throws IOException {
        return JdkPem.certificates(caPem).get(0);
    }

    public boolean revokes(X509Certificate certificate) {
        return certificate.getIssuerX500Principal().equals(crl.getIssuerX500Principal())
                && crl.getRevokedCertificate(certificate.getSerialNumber()) != null;
    }

    public X509CRL crl() {
        return crl;
    }

    public Path file() {
        return file;
    }
}
