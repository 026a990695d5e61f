package dev.etcdrescue.agent.testing;

import com.google.protobuf.ByteString;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.RelayGrantSignature;
import dev.etcdrescue.proto.v1.RelayGrant;
import java.time.Instant;
import java.util.List;

/** Relay grants as the coordinator signs them (AgentChannels.grant), with any signer for forgeries. */
public final class RelayGrants {
    private RelayGrants() {}

    public static RelayGrant sign(IssuedCertificate signer, String transferId, String operationId, List<String> nextHops,
                                  Instant validUntil) {
        byte[] payload = RelayGrantSignature.payload(transferId, operationId, nextHops, validUntil.toEpochMilli());
        return RelayGrant.newBuilder().setTransferId(transferId).setOperationId(operationId).addAllNextHops(nextHops)
                .setValidUntilUnixMs(validUntil.toEpochMilli())
                .setSignature(ByteString.copyFrom(RelayGrantSignature.sign(signer.privateKey(), payload))).build();
    }
}
