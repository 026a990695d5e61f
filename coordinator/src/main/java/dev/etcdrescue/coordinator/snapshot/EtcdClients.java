package dev.etcdrescue.coordinator.snapshot;

import io.etcd.jetcd.Client;
import java.net.URI;
import java.time.Duration;

/** Builds jetcd clients bound to exactly one member, so each answer is that member's own. */
public final class EtcdClients {
    private final Duration connectTimeout;

    public EtcdClients(Duration connectTimeout) {
        this.connectTimeout = connectTimeout;
    }

    public Client forMember(URI clientUrl) {
        return Client.builder()
                .endpoints(clientUrl)
                .connectTimeout(connectTimeout)
                // A dead member must fail fast: the engine decides what to retry, not the client.
                .retryMaxAttempts(2)
                .retryMaxDuration(connectTimeout)
                .build();
    }
}
