package dev.etcdrescue.pki;

import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.security.auth.x500.X500Principal;

/**
 * Reads attributes of a certificate's subject with the JDK's RFC 2253 parser (no BouncyCastle: the agent
 * calls this on every RPC, and loading BouncyCastle's signed jars costs it about 15 MiB resident).
 */
public final class SubjectNames {
    private SubjectNames() {}

    /** The subject's common name ({@code CN}), if it has exactly one. */
    public static Optional<String> commonName(X509Certificate certificate) {
        List<String> names = values(certificate, "CN");
        return names.size() == 1 ? Optional.of(names.get(0)) : Optional.empty();
    }

    static List<String> organizationalUnits(X509Certificate certificate) {
        return values(certificate, "OU");
    }

    private static List<String> values(X509Certificate certificate, String type) {
        LdapName subject;
        try {
            subject = new LdapName(certificate.getSubjectX500Principal().getName(X500Principal.RFC2253));
        } catch (InvalidNameException e) {
            throw new IllegalArgumentException("unreadable certificate subject: " + e.getMessage(), e);
        }
        List<String> values = new ArrayList<>();
        for (Rdn rdn : subject.getRdns()) {
            try {
                for (var attributes = rdn.toAttributes().getAll(); attributes.hasMore(); ) {
                    var attribute = attributes.next();
                    if (attribute.getID().equalsIgnoreCase(type)) {
                        values.add(String.valueOf(attribute.get()));
                    }
                }
            } catch (javax.naming.NamingException e) {
                throw new IllegalArgumentException("unreadable certificate subject: " + e.getMessage(), e);
            }
        }
        return values;
    }
}
