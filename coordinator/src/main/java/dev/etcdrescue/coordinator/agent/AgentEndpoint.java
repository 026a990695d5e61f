package dev.etcdrescue.coordinator.agent;

/** Where one host's agent listens, and the inventory name it must answer to. */
public record AgentEndpoint(String hostName, String host, int port) {
    @Override
    public String toString() {
        return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
    }
}
