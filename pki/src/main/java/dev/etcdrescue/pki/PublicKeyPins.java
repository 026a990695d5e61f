package dev.etcdrescue.pki;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;

/**
 * The SHA-256 of a certificate's SubjectPublicKeyInfo (DER), in lowercase hex: what agent.yaml's
 * {@code tls.coordinator_spki_sha256} pins. It survives re-issuing a certificate for the same key, and
 * equals {@code openssl x509 -pubkey -noout -in coordinator.pem | openssl pkey -pubin -outform der | sha256sum}.
 */
public final class PublicKeyPins {
    private PublicKeyPins() {}

    public static String spkiSha256(X509Certificate certificate) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getPublicKey().getEncoded()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }
}
