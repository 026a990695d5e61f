package dev.etcdrescue.coordinator.inventory;

import dev.etcdrescue.coordinator.agent.AgentEndpoint;
import java.net.URI;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One restored member as the inventory wants it, every default filled in and validated.
 * Unit names carry no {@code .service} suffix; {@code baseUnit} is the unit the new one is copied from
 * (default: {@code oldUnit}, the unit stopped at cut-over). {@code walDir}, {@code heartbeatIntervalMs} and
 * {@code electionTimeoutMs} are null when the inventory leaves them to etcd; {@code tls} is null for
 * plain http. {@code etcdSettings} holds the checked {@code ETCD_*} settings carried over from the
 * old member ({@code etcd_settings}), in the order written.
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
        String baseUnit,
        Integer heartbeatIntervalMs,
        Integer electionTimeoutMs,
        MemberTls tls,
        Map<String, String> etcdSettings) {
    public MemberPlan {
        peerUrls = List.copyOf(peerUrls);
        clientUrls = List.copyOf(clientUrls);
        listenPeerUrls = List.copyOf(listenPeerUrls);
        listenClientUrls = List.copyOf(listenClientUrls);
        etcdSettings = Collections.unmodifiableMap(new LinkedHashMap<>(etcdSettings));
    }

    /** A plain-http member without carried-over settings. */
    public MemberPlan(String hostName, String etcdName, String address, String agentHost, int agentPort, List<URI> peerUrls,
                      List<URI> clientUrls, List<URI> listenPeerUrls, List<URI> listenClientUrls, String dataDir, String walDir,
                      String newUnit, String oldUnit, Integer heartbeatIntervalMs, Integer electionTimeoutMs) {
        this(hostName, etcdName, address, agentHost, agentPort, peerUrls, clientUrls, listenPeerUrls, listenClientUrls, dataDir,
                walDir, newUnit, oldUnit, oldUnit, heartbeatIntervalMs, electionTimeoutMs, null, Map.of());
    }

    /** Where this host's agent listens, and the host name it must answer to. */
    public AgentEndpoint agentEndpoint() {
        return new AgentEndpoint(hostName, agentHost, agentPort);
    }

    /** The same member with other client URLs (listen and advertise), everything else kept: the fence. */
    public MemberPlan withClientUrls(List<URI> client) {
        return new MemberPlan(hostName, etcdName, address, agentHost, agentPort, peerUrls, client, listenPeerUrls, client, dataDir,
                walDir, newUnit, oldUnit, baseUnit, heartbeatIntervalMs, electionTimeoutMs, tls, etcdSettings);
    }

    /** The same member with other carried-over settings (the inventory's merged with the old env file's). */
    public MemberPlan withEtcdSettings(Map<String, String> settings) {
        return new MemberPlan(hostName, etcdName, address, agentHost, agentPort, peerUrls, clientUrls, listenPeerUrls,
                listenClientUrls, dataDir, walDir, newUnit, oldUnit, baseUnit, heartbeatIntervalMs, electionTimeoutMs, tls, settings);
    }
}
