package dev.etcdrescue.agent.transfer;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.pki.RelayGrantSignature;
import dev.etcdrescue.proto.v1.RelayGrant;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The relay grants announced to this agent. BeginTransfer brings this agent's own grant (its next
 * hops), signed by the coordinator that called; RelaySnapshot brings the upstream agent's grant, which
 * must be signed by that same coordinator, be for the same transfer and operation, be still valid, and
 * name this agent as its next hop (its hops after the first equal this agent's own). A fan-out from the
 * snapshot's source is the exception: this agent's own grant then names the one agent it may receive
 * from ({@code upstream}), and the upstream grant must be that agent's fan-out grant. Kept in memory
 * only: after a restart the coordinator announces again, or sends directly.
 */
public final class RelayGrants {
    private record Announced(X509Certificate coordinator, RelayGrant grant, Map<String, Integer> dataPorts) {}

    private final Map<String, Announced> byTransfer = new ConcurrentHashMap<>();
    private final Clock clock;

    public RelayGrants(Clock clock) {
        this.clock = clock;
    }

    /**
     * BeginTransfer with a grant: checks it against the calling coordinator's certificate and keeps both,
     * with the data channel ports the coordinator named for the grant's next hops.
     */
    public void announce(String transferId, String operationId, RelayGrant grant, X509Certificate coordinator,
                         Map<String, Integer> dataPorts) {
        check(grant, transferId, operationId, coordinator, "the coordinator's own");
        for (Map.Entry<String, Integer> port : dataPorts.entrySet()) {
            if (!grant.getNextHopsList().contains(port.getKey())) {
                throw AgentException.invalidField("next_hop_data_ports", "next_hop_data_ports names " + port.getKey()
                        + ", which is not a next hop of the grant " + grant.getNextHopsList());
            }
            if (port.getValue() < 1 || port.getValue() > 65535) {
                throw AgentException.invalidField("next_hop_data_ports", "next_hop_data_ports gives " + port.getKey()
                        + " the port " + port.getValue() + ": a port is 1 to 65535");
            }
        }
        byTransfer.put(transferId, new Announced(coordinator, grant, Map.copyOf(dataPorts)));
    }

    /** The data channel port the coordinator named for {@code hop} of this agent's grant; 0 when none. */
    public int dataPort(String transferId, String hop) {
        Announced announced = byTransfer.get(transferId);
        return announced == null ? 0 : announced.dataPorts().getOrDefault(hop, 0);
    }

    public void forget(String transferId) {
        byTransfer.remove(transferId);
    }

    /** This agent's grant for {@code transferId}, when the coordinator announced a relay. */
    public Optional<RelayGrant> own(String transferId) {
        return Optional.ofNullable(byTransfer.get(transferId)).map(Announced::grant);
    }

    /**
     * The first message of RelaySnapshot: whether the sending agent, {@code sender} (its certificate's
     * CN), may deliver this transfer here: the grant must be its own.
     */
    public void checkUpstream(RelayGrant presented, String operationId, String sender) {
        Announced announced = byTransfer.get(presented.getTransferId());
        if (announced == null) {
            throw AgentException.relayRefused("transfer " + presented.getTransferId()
                    + " was not announced to this agent as a relay transfer (BeginTransfer with a grant): refused");
        }
        check(presented, presented.getTransferId(), operationId, announced.coordinator(), "the upstream agent's");
        if (!presented.getHolder().equals(sender)) {
            throw AgentException.relayRefused("the relay grant is for agent " + presented.getHolder()
                    + ", but agent " + sender + " presented it: refused");
        }
        String upstream = announced.grant().getUpstream();
        if (!upstream.isEmpty()) {
            if (!presented.getHolder().equals(upstream) || !presented.getFanOut()) {
                throw AgentException.relayRefused("this agent receives transfer " + presented.getTransferId() + " only from "
                        + upstream + "'s fan-out, not from " + sender + (presented.getFanOut() ? "" : "'s chain") + ": refused");
            }
            return;
        }
        var hops = presented.getNextHopsList();
        if (hops.isEmpty() || !hops.subList(1, hops.size()).equals(announced.grant().getNextHopsList())) {
            throw AgentException.relayRefused("the upstream agent's grant names " + hops
                    + " as its next hops, which do not lead to this agent (whose own next hops are "
                    + announced.grant().getNextHopsList() + "): refused");
        }
    }

    private void check(RelayGrant grant, String transferId, String operationId, X509Certificate coordinator, String whose) {
        if (!grant.getTransferId().equals(transferId) || !grant.getOperationId().equals(operationId)) {
            throw AgentException.relayRefused(whose + " relay grant is for transfer " + grant.getTransferId()
                    + " of operation " + grant.getOperationId() + ", not transfer " + transferId + " of operation "
                    + operationId + ": refused");
        }
        if (grant.getValidUntilUnixMs() <= clock.millis()) {
            throw AgentException.relayRefused(whose + " relay grant expired at " + grant.getValidUntilUnixMs()
                    + " (unix ms): refused");
        }
        byte[] payload = RelayGrantSignature.payload(grant.getTransferId(), grant.getOperationId(), grant.getHolder(),
                grant.getNextHopsList(), grant.getValidUntilUnixMs(), grant.getFanOut(), grant.getUpstream());
        if (!RelayGrantSignature.verify(coordinator, payload, grant.getSignature().toByteArray())) {
            throw AgentException.relayRefused(whose + " relay grant is not signed by the coordinator "
                    + coordinator.getSubjectX500Principal().getName() + " that announced the transfer: refused");
        }
    }
}
