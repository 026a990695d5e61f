package dev.etcdrescue.agent.preflight;

import dev.etcdrescue.agent.spec.MemberPlan;
import dev.etcdrescue.proto.v1.EnvSetting;
import dev.etcdrescue.proto.v1.Finding;
import dev.etcdrescue.proto.v1.Severity;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The member's certificate files read before anything changes, where a mistake would only show once etcd runs:
 * a peer certificate whose subject alternative names do not cover the member's peer URLs, or that its own
 * ETCD_PEER_TRUSTED_CA_FILE did not issue (the other members, configured alike, refuse it: a joining member
 * would never catch up), or that has expired. The client certificate's names are a warning only: etcd starts,
 * and only clients that check the host name refuse it. Nothing is looked up in DNS.
 */
final class TlsFiles {
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final int SAN_DNS = 2;
    private static final int SAN_IP = 7;
    private static final int MAX_CHAIN = 5;

    private TlsFiles() {}

    static List<Finding> check(MemberPlan plan, List<EnvSetting> extras, Instant now) {
        Map<String, String> values = new HashMap<>();
        extras.forEach(e -> values.putIfAbsent(e.getKey(), e.getValue()));
        List<Finding> findings = new ArrayList<>();
        String peerCert = values.get("ETCD_PEER_CERT_FILE");
        if (peerCert != null) {
            certificates(peerCert, "ETCD_PEER_CERT_FILE", findings).ifPresent(chain -> {
                valid(chain.get(0), peerCert, "ETCD_PEER_CERT_FILE", now, findings);
                names(chain.get(0), peerCert, "ETCD_PEER_CERT_FILE", "member.peer_urls", plan.peerUrls(), Severity.ERROR,
                        "the other members would refuse its peer connections", findings);
                String ca = values.get("ETCD_PEER_TRUSTED_CA_FILE");
                if (ca != null) {
                    certificates(ca, "ETCD_PEER_TRUSTED_CA_FILE", findings).ifPresent(cas -> issuedBy(chain, peerCert, cas, ca, findings));
                }
            });
        }
        String clientCert = values.get("ETCD_CERT_FILE");
        if (clientCert != null) {
            certificates(clientCert, "ETCD_CERT_FILE", findings).ifPresent(chain -> {
                valid(chain.get(0), clientCert, "ETCD_CERT_FILE", now, findings);
                names(chain.get(0), clientCert, "ETCD_CERT_FILE", "member.client_urls", plan.clientUrls(), Severity.WARNING,
                        "clients that check the host name would refuse it", findings);
            });
        }
        return findings;
    }

    private static Optional<List<X509Certificate>> certificates(String file, String key, List<Finding> findings) {
        try (InputStream in = Files.newInputStream(Path.of(file))) {
            Collection<? extends java.security.cert.Certificate> read = CertificateFactory.getInstance("X.509").generateCertificates(in);
            List<X509Certificate> certs = read.stream().filter(X509Certificate.class::isInstance).map(X509Certificate.class::cast).toList();
            if (certs.isEmpty()) {
                findings.add(finding(Severity.ERROR, "tls-file-unreadable", key, file + " (" + key + ") holds no certificate"));
                return Optional.empty();
            }
            return Optional.of(certs);
        } catch (IOException | GeneralSecurityException e) {
            findings.add(finding(Severity.ERROR, "tls-file-unreadable", key, "cannot read " + file + " (" + key + "): " + e.getMessage()));
            return Optional.empty();
        }
    }

    private static void valid(X509Certificate cert, String file, String key, Instant now, List<Finding> findings) {
        if (now.isAfter(cert.getNotAfter().toInstant())) {
            findings.add(finding(Severity.ERROR, "tls-cert-expired", key, file + " (" + key + ") expired at " + cert.getNotAfter().toInstant()
                    + ": etcd's peers and clients refuse it; issue a new one"));
        } else if (now.isBefore(cert.getNotBefore().toInstant())) {
            findings.add(finding(Severity.ERROR, "tls-cert-not-yet-valid", key, file + " (" + key + ") is valid only from "
                    + cert.getNotBefore().toInstant() + ": check this host's clock, or issue a new one"));
        }
    }

    /** Every https URL's host must be one of the certificate's subject alternative names (IP or DNS, one-label wildcards). */
    private static void names(X509Certificate cert, String file, String key, String field, List<String> urls, Severity severity,
                              String otherwise, List<Finding> findings) {
        List<String> dns = new ArrayList<>();
        List<InetAddress> ips = new ArrayList<>();
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            for (List<?> san : sans == null ? List.<List<?>>of() : sans) {
                int type = (Integer) san.get(0);
                if (type == SAN_DNS) {
                    dns.add(String.valueOf(san.get(1)).toLowerCase(Locale.ROOT));
                } else if (type == SAN_IP) {
                    literal(String.valueOf(san.get(1))).ifPresent(ips::add);
                }
            }
        } catch (java.security.cert.CertificateParsingException e) {
            findings.add(finding(Severity.ERROR, "tls-file-unreadable", key, "cannot read the names in " + file + " (" + key + "): "
                    + e.getMessage()));
            return;
        }
        for (String url : urls) {
            URI uri = URI.create(url);
            if (!"https".equals(uri.getScheme()) || uri.getHost() == null) {
                continue;
            }
            String host = uri.getHost();
            Optional<InetAddress> ip = literal(host);
            boolean covered = ip.isPresent() ? ips.contains(ip.get()) : dns.stream().anyMatch(d -> matches(d, host.toLowerCase(Locale.ROOT)));
            if (!covered) {
                findings.add(finding(severity, "tls-san-mismatch", key, file + " (" + key + ") names " + describe(dns, ips) + ", not " + host
                        + " of " + field + " " + url + ": " + otherwise + ". Issue it with " + host + " as a subject alternative name"));
            }
        }
    }

    /** The certificate, or an intermediate the file carries after it, is signed by a certificate of the CA file. */
    private static void issuedBy(List<X509Certificate> chain, String file, List<X509Certificate> cas, String caFile, List<Finding> findings) {
        X509Certificate current = chain.get(0);
        for (int hop = 0; hop < MAX_CHAIN; hop++) {
            X509Certificate child = current;
            if (cas.stream().anyMatch(ca -> signs(ca, child))) {
                return;
            }
            Optional<X509Certificate> next = chain.stream().filter(c -> c != child && signs(c, child)).findFirst();
            if (next.isEmpty()) {
                break;
            }
            current = next.get();
        }
        findings.add(finding(Severity.ERROR, "tls-ca-mismatch", "ETCD_PEER_CERT_FILE", file + " (ETCD_PEER_CERT_FILE) is issued by "
                + chain.get(0).getIssuerX500Principal().getName() + ", not by the CA in " + caFile + " (ETCD_PEER_TRUSTED_CA_FILE: "
                + cas.stream().map(c -> c.getSubjectX500Principal().getName()).toList() + "): the other members, which trust that CA,"
                + " would refuse its peer connections. Issue it from the cluster's CA"));
    }

    private static boolean signs(X509Certificate issuer, X509Certificate cert) {
        if (!issuer.getSubjectX500Principal().equals(cert.getIssuerX500Principal())) {
            return false;
        }
        try {
            cert.verify(issuer.getPublicKey());
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static boolean matches(String pattern, String host) {
        if (pattern.startsWith("*.")) {
            int dot = host.indexOf('.');
            return dot > 0 && host.substring(dot + 1).equals(pattern.substring(2));
        }
        return pattern.equals(host);
    }

    /** An IP literal as an address; empty for a name (never resolved). */
    private static Optional<InetAddress> literal(String host) {
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (!IPV4.matcher(h).matches() && !h.contains(":")) {
            return Optional.empty();
        }
        try {
            return Optional.of(InetAddress.getByName(h));
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
    }

    private static String describe(List<String> dns, List<InetAddress> ips) {
        List<String> all = new ArrayList<>(dns);
        ips.forEach(ip -> all.add(ip.getHostAddress()));
        return all.isEmpty() ? "no subject alternative name" : all.toString();
    }

    private static Finding finding(Severity severity, String code, String field, String message) {
        return Finding.newBuilder().setSeverity(severity).setCode(code).setField(field).setMessage(message).build();
    }
}
