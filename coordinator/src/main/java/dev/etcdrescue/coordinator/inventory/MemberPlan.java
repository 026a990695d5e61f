package dev.etcdrescue.coordinator.inventory;

import java.net.URI;
import java.util.List;

/**
 * One restored member as the inventory wants it, every default filled in and validated.
 * Unit names carry no {@code .service} suffix. {@code walDir}, {@code heartbeatIntervalMs} and
 * {@code electionTimeoutMs} are null when the inventory leaves them to etcd.
 */
public record MemberPlan(
        String hostName,
        String etcdName,
        String address,
        String agentHost,
        int agentPort,
        List<URI> peerUrls,
        List<URI> clientUrls,
        List<URI> listenPeerUrls,
        List<URI> listenClientUrls,
        String dataDir,
        String walDir,
        String newUnit,
        String oldUnit,
        Integer heartbeatIntervalMs,
        Integer electionTimeoutMs) {
    public MemberPlan {
        peerUrls = List.copyOf(peerUrls);
        clientUrls = List.copyOf(clientUrls);
        listenPeerUrls = List.copyOf(listenPeerUrls);
        listenClientUrls = List.copyOf(listenClientUrls);
    }

    /** {@code host:port} of the agent, IPv6 in brackets. */
    public String agentEndpoint() {
        return (agentHost.contains(":") ? "[" + agentHost + "]" : agentHost) + ":" + agentPort;
    }
}
