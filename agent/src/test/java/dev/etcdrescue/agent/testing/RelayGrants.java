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
        return sign(signer, transferId, operationId, holder, nextHops, validUntil, false, "");
    }

    /** A fan-out grant ({@code fanOut}) for a source, or a receiver's grant naming its {@code upstream}. */
    public static RelayGrant sign(IssuedCertificate signer, String transferId, String operationId, String holder,
                                  List<String> nextHops, Instant validUntil, boolean fanOut, String upstream) {
        byte[] payload = RelayGrantSignature.payload(transferId, operationId, holder, nextHops, validUntil.toEpochMilli(),
                fanOut, upstream);
        return RelayGrant.newBuilder().setTransferId(transferId).setOperationId(operationId).setHolder(holder)
                .addAllNextHops(nextHops).setFanOut(fanOut).setUpstream(upstream)
                .setValidUntilUnixMs(validUntil.toEpochMilli())
                .setSignature(ByteString.copyFrom(RelayGrantSignature.sign(signer.privateKey(), payload))).build();
    }
}
