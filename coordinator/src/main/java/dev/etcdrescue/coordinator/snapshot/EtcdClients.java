package dev.etcdrescue.coordinator.snapshot;

import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.EtcdAccess;
import dev.etcdrescue.pki.TlsContexts;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * Builds jetcd clients bound to exactly one member, so each answer is that member's own, with the
 * cluster's TLS and auth ({@link EtcdAccess}): https URLs get the etcd CA and the client certificate,
 * and a configured etcd user logs in with its password.
 */
public final class EtcdClients {
    private final Duration connectTimeout;
    private final EtcdAccess access;
    private final Map<String, String> environment;
    private SslContext ssl;

    public EtcdClients(Duration connectTimeout) {
        this(connectTimeout, EtcdAccess.NONE);
    }

    public EtcdClients(Duration connectTimeout, EtcdAccess access) {
        this(connectTimeout, access, System.getenv());
    }

    /** {@code environment}: where {@link EtcdAccess#PASSWORD_ENV} is looked up (tests pass their own). */
    public EtcdClients(Duration connectTimeout, EtcdAccess access, Map<String, String> environment) {
        this.connectTimeout = connectTimeout;
        this.access = access;
        this.environment = Map.copyOf(environment);
    }

    public EtcdAccess access() {
        return access;
    }

    /** The same timeouts with another cluster's access; this one when {@code other} is {@link EtcdAccess#NONE}. */
    public EtcdClients with(EtcdAccess other) {
        return other.equals(EtcdAccess.NONE) || other.equals(access) ? this : new EtcdClients(connectTimeout, other, environment);
    }

    /** A member of a cluster with quorum (the restored one): the etcd user logs in with its password. */
    public Client forMember(URI clientUrl) {
        return build(clientUrl, true);
    }

    /**
     * An old member that may have lost quorum. etcd's password login (Authenticate) is a raft
     * proposal, which a member without quorum cannot commit: with a client certificate the
     * coordinator relies on it alone (etcd takes its CN as the user), and logs in with the password
     * only when it has no certificate.
     */
    public Client forSurvivor(URI clientUrl) {
        return build(clientUrl, access.cert() == null);
    }

    private Client build(URI clientUrl, boolean login) {
        ClientBuilder builder = Client.builder();
        if ("https".equals(clientUrl.getScheme())) {
            // Before endpoints(): jetcd puts the authority into the target it builds there. It is what
            // the member's certificate is checked against: the address dialled.
            builder.authority(clientUrl.getHost() + ":" + clientUrl.getPort()).sslContext(sslContext(clientUrl));
        }
        builder.endpoints(clientUrl)
                .connectTimeout(connectTimeout)
                // A dead member must fail fast: the engine decides what to retry, not the client.
                .retryMaxAttempts(2)
                .retryMaxDuration(connectTimeout);
        if (login && access.user() != null) {
            String password;
            try {
                password = access.password(environment);
            } catch (IllegalStateException e) {
                throw new UserException(FailureKind.BAD_INPUT, e.getMessage());
            }
            builder.user(ByteSequence.from(access.user(), StandardCharsets.UTF_8))
                    .password(ByteSequence.from(password, StandardCharsets.UTF_8));
        }
        return builder.build();
    }

    private synchronized SslContext sslContext(URI clientUrl) {
        if (ssl == null) {
            if (!access.tls()) {
                throw new UserException(FailureKind.BAD_INPUT, clientUrl + " is https but no etcd CA is configured:"
                        + " set etcd_client_ca (and etcd_client_cert, etcd_client_key) in the inventory");
            }
            try {
                ssl = TlsContexts.etcdClient(access.cert(), access.key(), access.ca());
            } catch (IOException | RuntimeException e) {
                throw new UserException(FailureKind.BAD_INPUT, "cannot use the etcd client TLS files (etcd_client_ca " + access.ca()
                        + (access.cert() == null ? "" : ", etcd_client_cert " + access.cert() + ", etcd_client_key " + access.key())
                        + "): " + e.getMessage());
            }
        }
        return ssl;
    }
}
