package dev.etcdrescue.pki;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * TLS contexts for the three connections of the fleet, all from PEM files (keys as PKCS#8):
 * agent server (client certificate required), coordinator to agent, and coordinator to etcd.
 * All three use {@link GrpcSslContexts} because each is HTTP/2 gRPC over Netty and needs ALPN {@code h2}.
 * The fleet's files are read with the JDK alone ({@link JdkPem}): the agent runs without BouncyCastle.
 * A key in another form than PKCS#8 is left to Netty's reader (which needs BouncyCastle for those forms).
 * The fleet's own connections (agent server, coordinator and relaying agent as clients) speak TLS 1.3
 * only: both ends are this project's code, so nothing needs 1.2's wider choice of key exchanges.
 * The etcd client keeps Netty's defaults: etcd may be configured for TLS 1.2 only.
 */
public final class TlsContexts {
    static final String PROTOCOL = "TLSv1.3";

    private TlsContexts() {}

    /** An agent's server: presents {@code cert}, requires a client certificate signed by {@code ca}. */
    public static SslContext grpcServer(Path cert, Path key, Path ca) throws SSLException {
        Optional<PrivateKey> pkcs8 = pkcs8Key(key);
        SslContextBuilder builder = pkcs8.isPresent()
                ? SslContextBuilder.forServer(pkcs8.get(), certificates(cert))
                : SslContextBuilder.forServer(cert.toFile(), key.toFile());
        return GrpcSslContexts.configure(builder)
                .trustManager(certificates(ca))
                .clientAuth(ClientAuth.REQUIRE)
                .protocols(PROTOCOL)
                .build();
    }

    /** In-memory variant of {@link #grpcServer(Path, Path, Path)}. */
    public static SslContext grpcServer(IssuedCertificate identity, X509Certificate ca) throws SSLException {
        return GrpcSslContexts.configure(SslContextBuilder.forServer(identity.privateKey(), identity.certificate()))
                .trustManager(ca)
                .clientAuth(ClientAuth.REQUIRE)
                .protocols(PROTOCOL)
                .build();
    }

    /**
     * A gRPC client (the coordinator, or an agent relaying): presents {@code cert}, trusts only
     * {@code ca}, and only an agent's certificate ({@link AgentServerTrust}). gRPC verifies the server's
     * certificate against the address dialled.
     */
    public static SslContext grpcClient(Path cert, Path key, Path ca) throws SSLException {
        SslContextBuilder builder = GrpcSslContexts.forClient().trustManager(AgentServerTrust.of(certificates(ca)))
                .protocols(PROTOCOL);
        Optional<PrivateKey> pkcs8 = pkcs8Key(key);
        if (pkcs8.isPresent()) {
            builder.keyManager(pkcs8.get(), certificates(cert));
        } else {
            builder.keyManager(cert.toFile(), key.toFile());
        }
        return builder.build();
    }

    private static X509Certificate[] certificates(Path pem) throws SSLException {
        try {
            return JdkPem.certificates(pem).toArray(X509Certificate[]::new);
        } catch (IOException e) {
            throw new SSLException(e.getMessage(), e);
        }
    }

    private static Optional<PrivateKey> pkcs8Key(Path pem) throws SSLException {
        try {
            return JdkPem.pkcs8Key(pem);
        } catch (IOException e) {
            throw new SSLException(e.getMessage(), e);
        }
    }

    /** In-memory variant of {@link #grpcClient(Path, Path, Path)}; a null identity presents no certificate. */
    public static SslContext grpcClient(IssuedCertificate identity, X509Certificate ca) throws SSLException {
        SslContextBuilder builder = GrpcSslContexts.forClient().trustManager(AgentServerTrust.of(ca)).protocols(PROTOCOL);
        if (identity != null) {
            builder.keyManager(identity.privateKey(), identity.certificate());
        }
        return builder.build();
    }

    /**
     * For jetcd's {@code ClientBuilder.sslContext(SslContext)} (unshaded Netty, HTTP/2 with ALPN,
     * exactly what jetcd's own {@code sslContext(Consumer)} builds). {@code cert} and {@code key}
     * are both null when etcd does not ask for client certificates. The files are read with
     * {@link Pem}, so keys in the traditional forms (kubeadm's {@code BEGIN RSA PRIVATE KEY}, openssl's
     * {@code BEGIN EC PRIVATE KEY}) work too, and {@code ca} may be a bundle.
     */
    public static SslContext etcdClient(Path cert, Path key, Path ca) throws IOException {
        if ((cert == null) != (key == null)) {
            throw new IllegalArgumentException("give both the etcd client certificate and its key, or neither");
        }
        List<X509Certificate> trusted = Pem.readCertificates(ca);
        if (trusted.isEmpty()) {
            throw new IOException(ca + " holds no PEM certificate (expected the etcd CA, '-----BEGIN CERTIFICATE-----')");
        }
        SslContextBuilder builder = GrpcSslContexts.forClient().trustManager(trusted);
        if (cert != null) {
            List<X509Certificate> chain = Pem.readCertificates(cert);
            if (chain.isEmpty()) {
                throw new IOException(cert + " holds no PEM certificate");
            }
            builder.keyManager(Pem.readPrivateKey(key), chain);
        }
        return builder.build();
    }
}
