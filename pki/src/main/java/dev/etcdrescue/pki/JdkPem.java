package dev.etcdrescue.pki;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEM reading with the JDK alone, for what the agent reads at run time (its certificate, the fleet CA and
 * its PKCS#8 key, as {@code pki issue} writes them). The agent runs without BouncyCastle on its class path:
 * loading BouncyCastle's signed jars costs it about 15 MiB resident for as long as it runs. {@link Pem}
 * (BouncyCastle) stays for writing and for the traditional key forms the coordinator accepts.
 */
final class JdkPem {
    private static final Pattern PKCS8_PEM =
            Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

    private JdkPem() {}

    /** Every certificate of a PEM file, in file order; fails if there is none. */
    static List<X509Certificate> certificates(Path file) throws IOException {
        List<X509Certificate> certificates;
        try (InputStream in = Files.newInputStream(file)) {
            certificates = CertificateFactory.getInstance("X.509").generateCertificates(in).stream()
                    .map(X509Certificate.class::cast).toList();
        } catch (GeneralSecurityException e) {
            throw new IOException(file + " holds no readable PEM certificate: " + e.getMessage(), e);
        }
        if (certificates.isEmpty()) {
            throw new IOException(file + " holds no PEM certificate (expected '-----BEGIN CERTIFICATE-----')");
        }
        return certificates;
    }

    /** The key of a PKCS#8 PEM file ({@code BEGIN PRIVATE KEY}); empty when the file holds another form. */
    static Optional<PrivateKey> pkcs8Key(Path file) throws IOException {
        Matcher pkcs8 = PKCS8_PEM.matcher(Files.readString(file, StandardCharsets.US_ASCII));
        if (!pkcs8.find()) {
            return Optional.empty();
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(pkcs8.group(1));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + " holds a PKCS#8 key that is not valid base64: " + e.getMessage(), e);
        }
        GeneralSecurityException last = null;
        for (String algorithm : new String[] {"EC", "RSA", "Ed25519"}) {
            try {
                return Optional.of(KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der)));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw new IOException(file + " holds a PKCS#8 key that is neither EC, RSA nor Ed25519: " + last.getMessage(), last);
    }
}
