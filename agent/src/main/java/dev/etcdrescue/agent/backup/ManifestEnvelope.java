package dev.etcdrescue.agent.backup;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.etcdrescue.agent.io.Json;
import dev.etcdrescue.pki.DsseSignature;
import dev.etcdrescue.pki.PublicKeyPins;
import dev.etcdrescue.pki.SigningIdentity;
import java.io.IOException;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;

/**
 * A manifest as stored: a DSSE envelope (payload type, base64 payload, signatures), whose signature carries
 * the signer's fleet certificate so that any holder of the fleet CA can check it. The payload is parsed
 * only after its signature holds.
 */
public final class ManifestEnvelope {
    private ManifestEnvelope() {}

    record Envelope(String payloadType, String payload, List<Sig> signatures) {}

    record Sig(String keyid, String sig, String cert) {}

    /** A manifest read back: the document, or why it cannot be trusted. */
    public record Checked(BackupManifest manifest, String problem) {
        public boolean trusted() {
            return problem == null;
        }
    }

    public static byte[] sign(BackupManifest manifest, SigningIdentity signer) {
        try {
            byte[] payload = Json.strict().writeValueAsBytes(manifest);
            byte[] sig = DsseSignature.sign(signer.key(), BackupManifest.PAYLOAD_TYPE, payload);
            Envelope e = new Envelope(BackupManifest.PAYLOAD_TYPE, Base64.getEncoder().encodeToString(payload),
                    List.of(new Sig(PublicKeyPins.spkiSha256(signer.certificate()), Base64.getEncoder().encodeToString(sig),
                            SigningIdentity.toPem(signer.certificate()))));
            return Json.strict().writerWithDefaultPrettyPrinter().writeValueAsBytes(e);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a manifest: " + e.getMessage(), e);
        }
    }

    /** Checks the envelope against the fleet CA, then reads the manifest. */
    public static Checked read(byte[] stored, X509Certificate fleetCa) {
        Envelope e;
        try {
            e = Json.strict().readValue(stored, Envelope.class);
        } catch (IOException ex) {
            return new Checked(null, "not a signed manifest: " + ex.getMessage());
        } catch (RuntimeException ex) {
            return new Checked(null, "not a signed manifest: " + ex.getMessage());
        }
        if (!BackupManifest.PAYLOAD_TYPE.equals(e.payloadType()) || e.signatures() == null || e.signatures().size() != 1) {
            return new Checked(null, "not a manifest of etcd-rescue (payload type " + e.payloadType() + ", one signature expected)");
        }
        try {
            byte[] payload = Base64.getDecoder().decode(e.payload());
            Sig sig = e.signatures().get(0);
            X509Certificate signer = SigningIdentity.fromPem(sig.cert());
            var refused = DsseSignature.verify(fleetCa, signer, e.payloadType(), payload, Base64.getDecoder().decode(sig.sig()));
            if (refused.isPresent()) {
                return new Checked(null, "signature refused: " + refused.get());
            }
            return new Checked(Json.lenient().readValue(payload, BackupManifest.class), null);
        } catch (IOException | IllegalArgumentException ex) {
            return new Checked(null, "a manifest that cannot be read: " + ex.getMessage());
        }
    }
}
