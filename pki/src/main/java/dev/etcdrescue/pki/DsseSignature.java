package dev.etcdrescue.pki;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.Optional;

/**
 * Signatures over a document in the DSSE envelope form (in-toto's Dead Simple Signing Envelope v1): the
 * signed bytes are the pre-authentication encoding of the payload's type and the payload itself, so a
 * signature made for one type of document can never be taken for another, and the payload is checked as
 * the bytes that were signed, before it is parsed. A backup's manifest is signed this way by the agent that
 * took the backup, with the key of its fleet certificate.
 */
public final class DsseSignature {
    public static final String ALGORITHM = "SHA256withECDSA";

    private DsseSignature() {}

    /** DSSE's PAE: {@code "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body}, lengths in ASCII decimal. */
    public static byte[] pae(String payloadType, byte[] payload) {
        byte[] type = payloadType.getBytes(StandardCharsets.UTF_8);
        byte[] head = ("DSSEv1 " + type.length + " " + payloadType + " " + payload.length + " ").getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[head.length + payload.length];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(payload, 0, out, head.length, payload.length);
        return out;
    }

    public static byte[] sign(PrivateKey key, String payloadType, byte[] payload) {
        try {
            Signature signature = Signature.getInstance(ALGORITHM);
            signature.initSign(key);
            signature.update(pae(payloadType, payload));
            return signature.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot sign with a " + key.getAlgorithm() + " key (" + ALGORITHM
                    + " needs the fleet's EC key): " + e.getMessage(), e);
        }
    }

    /**
     * Why the signature does not hold, or empty when it does: {@code signer} must be issued by {@code ca}, be an
     * agent's certificate, and its key must have signed exactly these bytes. Validity dates are not checked: a
     * backup stays genuine after the certificate that signed it expired.
     */
    public static Optional<String> verify(X509Certificate ca, X509Certificate signer, String payloadType, byte[] payload,
                                          byte[] signatureBytes) {
        try {
            signer.verify(ca.getPublicKey());
        } catch (GeneralSecurityException | RuntimeException e) {
            return Optional.of("the signer's certificate (" + signer.getSubjectX500Principal().getName()
                    + ") is not issued by the fleet CA");
        }
        if (Role.of(signer).orElse(null) != Role.AGENT) {
            return Optional.of("the signer's certificate (" + signer.getSubjectX500Principal().getName() + ") is not an agent's");
        }
        try {
            Signature signature = Signature.getInstance(ALGORITHM);
            signature.initVerify(signer.getPublicKey());
            signature.update(pae(payloadType, payload));
            return signature.verify(signatureBytes) ? Optional.empty() : Optional.of("the signature does not match the manifest");
        } catch (GeneralSecurityException | RuntimeException e) {
            return Optional.of("the signature is not well formed: " + e.getMessage());
        }
    }
}
