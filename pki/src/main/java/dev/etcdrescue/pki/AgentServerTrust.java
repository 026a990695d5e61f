package dev.etcdrescue.pki;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The trust of a fleet client (the coordinator, or an agent relaying): the JDK's PKIX checks against
 * the fleet CA, including the host name check gRPC asks for, and then that the server's certificate
 * is an agent's ({@code OU=agent}). A fleet certificate of another role with a matching SAN (an etcd
 * member certificate issued from the fleet CA by mistake, whose key the etcd user can read) would
 * otherwise pass as that host's agent and receive the snapshot.
 */
final class AgentServerTrust extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager pkix;

    private AgentServerTrust(X509ExtendedTrustManager pkix) {
        this.pkix = pkix;
    }

    static TrustManager of(X509Certificate... cas) {
        try {
            KeyStore anchors = KeyStore.getInstance(KeyStore.getDefaultType());
            anchors.load(null, null);
            for (int i = 0; i < cas.length; i++) {
                anchors.setCertificateEntry("fleet-ca-" + i, cas[i]);
            }
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(anchors);
            for (TrustManager tm : factory.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager extended) {
                    return new AgentServerTrust(extended);
                }
            }
            throw new IllegalStateException("the JDK offers no X509ExtendedTrustManager");
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalStateException("cannot build a trust manager for the fleet CA", e);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        pkix.checkServerTrusted(chain, authType, engine);
        requireAgent(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        pkix.checkServerTrusted(chain, authType, socket);
        requireAgent(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        pkix.checkServerTrusted(chain, authType);
        requireAgent(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        pkix.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        pkix.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        pkix.checkClientTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return pkix.getAcceptedIssuers();
    }

    private static void requireAgent(X509Certificate[] chain) throws CertificateException {
        if (chain.length == 0 || Role.of(chain[0]).orElse(null) != Role.AGENT) {
            String who = chain.length == 0 ? "(none)" : SubjectNames.commonName(chain[0]).orElse("(no CN)");
            String role = chain.length == 0 ? "(none)" : Role.of(chain[0]).map(Role::organizationalUnit).orElse("(none)");
            throw new CertificateException("the server's certificate " + who + " has role " + role
                    + ", not agent (OU=agent): only an etcd-rescue agent may answer at this address");
        }
    }
}
