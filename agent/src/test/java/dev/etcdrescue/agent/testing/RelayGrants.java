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

    /** @param holder the host name (agent certificate CN) of the agent the grant is for */
    public static RelayGrant sign(IssuedCertificate signer, String transferId, String operationId, String holder,
                                  List<String> nextHops, Instant validUntil) {
        byte[] payload = RelayGrantSignature.payload(transferId, operationId, holder, nextHops, validUntil.toEpochMilli());
        return RelayGrant.newBuilder().setTransferId(transferId).setOperationId(operationId).setHolder(holder)
                .addAllNextHops(nextHops)
                .setValidUntilUnixMs(validUntil.toEpochMilli())
                .setSignature(ByteString.copyFrom(RelayGrantSignature.sign(signer.privateKey(), payload))).build();
    }
}
