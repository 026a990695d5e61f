package dev.etcdrescue.pki;

import java.security.cert.X509Certificate;
import java.util.Locale;
import java.util.Optional;

/**
 * What a certificate of the fleet CA is allowed to do, carried in the subject's {@code OU}: the
 * agent authorizes callers by it, so the CA alone does not make a caller a coordinator.
 */
public enum Role {
    /** The operator's client certificate: may call every agent RPC. */
    COORDINATOR,
    /** An agent's server certificate; as a client only for relaying a snapshot between agents. */
    AGENT,
    /**
     * An etcd member's certificate for its client and peer URLs (issued from the etcd cluster's CA,
     * not the fleet CA); the agents never accept it.
     */
    ETCD_MEMBER,
    /** A client certificate for etcd itself (the coordinator's snapshot and verify); etcd reads its CN as the user. */
    ETCD_CLIENT;

    /** The subject {@code OU} value of this role: {@code coordinator}, {@code agent}, {@code etcd-member}, {@code etcd-client}. */
    public String organizationalUnit() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The role named by the certificate's subject {@code OU}, if it names exactly one known role. */
    public static Optional<Role> of(X509Certificate certificate) {
        var units = SubjectNames.organizationalUnits(certificate);
        if (units.size() != 1) {
            return Optional.empty();
        }
        for (Role role : values()) {
            if (role.organizationalUnit().equals(units.get(0))) {
                return Optional.of(role);
            }
        }
        return Optional.empty();
    }
}
