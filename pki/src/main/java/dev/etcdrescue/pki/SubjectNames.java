package dev.etcdrescue.pki;

import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;

/** Reads attributes of a certificate's subject without string-parsing its printed form. */
public final class SubjectNames {
    private SubjectNames() {}

    /** The subject's common name ({@code CN}), if it has exactly one. */
    public static Optional<String> commonName(X509Certificate certificate) {
        List<String> names = values(certificate, BCStyle.CN);
        return names.size() == 1 ? Optional.of(names.get(0)) : Optional.empty();
    }

    static List<String> organizationalUnits(X509Certificate certificate) {
        return values(certificate, BCStyle.OU);
    }

    private static List<String> values(X509Certificate certificate, ASN1ObjectIdentifier type) {
        X500Name subject = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded());
        List<String> values = new ArrayList<>();
        for (RDN rdn : subject.getRDNs(type)) {
            values.add(IETFUtils.valueToString(rdn.getFirst().getValue()));
        }
        return values;
    }
}
