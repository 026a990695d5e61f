package dev.etcdrescue.pki;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * The signature of a relay grant (etcdrescue.v1.RelayGrant): the coordinator signs, with its own TLS
 * key, the permission for one agent to forward one transfer to the next agents of a chain; the agents
 * check it against the coordinator certificate that announced the transfer to them. The signed bytes
 * are a fixed, length-prefixed encoding of the fields (not the protobuf encoding, which is not
 * canonical), behind a label so that this signature can never be mistaken for any other.
 */
public final class RelayGrantSignature {
    public static final String ALGORITHM = "SHA256withECDSA";
    private static final String LABEL = "etcd-rescue relay grant v2";
    /** The label of a grant that also says fan-out or upstream; a v2 grant's bytes stay what they were. */
    private static final String LABEL_SOURCED = "etcd-rescue relay grant v3";

    private RelayGrantSignature() {}

    /** The bytes that are signed for a chain grant (no fan-out, no upstream). */
    public static byte[] payload(String transferId, String operationId, String holder, List<String> nextHops,
                                 long validUntilUnixMs) {
        return payload(transferId, operationId, holder, nextHops, validUntilUnixMs, false, "");
    }

    /**
     * The bytes that are signed.
     *
     * @param fanOut   the holder sends to every next hop itself
     * @param upstream the only agent the holder may receive the transfer from; empty when the hops say it (a chain)
     */
    public static byte[] payload(String transferId, String operationId, String holder, List<String> nextHops,
                                 long validUntilUnixMs, boolean fanOut, String upstream) {
        boolean sourced = fanOut || !upstream.isEmpty();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            field(out, sourced ? LABEL_SOURCED : LABEL);
            field(out, transferId);
            field(out, operationId);
            field(out, holder);
            out.writeInt(nextHops.size());
            for (String hop : nextHops) {
                field(out, hop);
            }
            out.writeLong(validUntilUnixMs);
            if (sourced) {
                out.writeBoolean(fanOut);
                field(out, upstream);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    public static byte[] sign(PrivateKey key, byte[] payload) {
        try {
            Signature signature = Signature.getInstance(ALGORITHM);
            signature.initSign(key);
            signature.update(payload);
            return signature.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot sign a relay grant with a " + key.getAlgorithm() + " key ("
                    + ALGORITHM + " needs the fleet's EC key): " + e.getMessage(), e);
        }
    }

    /** False for any signature that does not verify, including one that is not even well formed. */
    public static boolean verify(X509Certificate signer, byte[] payload, byte[] signatureBytes) {
        try {
            Signature signature = Signature.getInstance(ALGORITHM);
            signature.initVerify(signer.getPublicKey());
            signature.update(payload);
            return signature.verify(signatureBytes);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    private static void field(DataOutputStream out, String value) throws IOException {
        byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
        out.writeInt(utf8.length);
        out.write(utf8);
    }
}
