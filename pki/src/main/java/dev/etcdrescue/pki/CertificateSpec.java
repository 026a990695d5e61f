package dev.etcdrescue.pki;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Everything that varies between issued certificates. {@code sans} are host names or IP literals;
 * each becomes a DNS or an IP subject alternative name. The validity is explicit so tests can
 * issue expired and not-yet-valid certificates.
 */
public record CertificateSpec(Role role, String commonName, List<String> sans, Instant notBefore, Instant notAfter) {
    public CertificateSpec {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(commonName, "commonName");
        Objects.requireNonNull(notBefore, "notBefore");
        Objects.requireNonNull(notAfter, "notAfter");
        if (commonName.isBlank()) {
            throw new IllegalArgumentException("the common name must not be blank");
        }
        if (!notAfter.isAfter(notBefore)) {
            throw new IllegalArgumentException("notAfter " + notAfter + " must be after notBefore " + notBefore);
        }
        sans = List.copyOf(sans);
        for (String san : sans) {
            HostNames.requireIpOrDnsName(san);
        }
    }
}
