package dev.etcdrescue.pki;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Collection;
import java.util.Objects;
import java.util.TreeSet;
import java.security.cert.X509CRL;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The fleet CA: one EC P-256 key that signs the coordinator's and every agent's certificate.
 * The role of each certificate is its subject {@code OU} (see {@link Role}).
 */
public final class CertificateAuthority {
    private static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";
    /** An existing etcd CA (kubeadm's, for one) often has an RSA key. */
    private static final String RSA_SIGNATURE_ALGORITHM = "SHA256withRSA";
    /** Issued certificates start this much in the past, so a host whose clock lags a little still accepts them. */
    private static final Duration CLOCK_SKEW = Duration.ofMinutes(5);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final X509Certificate certificate;
    private final PrivateKey privateKey;
    private final Clock clock;

    private CertificateAuthority(X509Certificate certificate, PrivateKey privateKey, Clock clock) {
        this.certificate = certificate;
        this.privateKey = privateKey;
        this.clock = clock;
    }

    /** A new self-signed CA, valid from now (minus a little clock skew) for {@code validity}. */
    public static CertificateAuthority create(String commonName, Duration validity) {
        return create(commonName, validity, Clock.systemUTC());
    }

    static CertificateAuthority create(String commonName, Duration validity, Clock clock) {
        requirePositive(validity);
        KeyPair keys = newKeyPair();
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
        Instant now = clock.instant();
        try {
            JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, newSerial(),
                    Date.from(now.minus(CLOCK_SKEW)), Date.from(now.plus(validity)), subject, keys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            extensions.createSubjectKeyIdentifier(keys.getPublic()));
            return new CertificateAuthority(sign(builder, keys.getPrivate()), keys.getPrivate(), clock);
        } catch (GeneralSecurityException | CertIOException e) {
            throw new IllegalStateException("creating the CA certificate failed", e);
        }
    }

    /** The CA stored by {@link #writeTo}. Fails if the key does not belong to the certificate or it is no CA. */
    public static CertificateAuthority load(Path certPem, Path keyPem) throws IOException {
        X509Certificate certificate = Pem.readCertificate(certPem);
        PrivateKey key = Pem.readPrivateKey(keyPem);
        if (certificate.getBasicConstraints() < 0) {
            throw new IOException(certPem + " is not a CA certificate (no basicConstraints CA:true)");
        }
        if (!keyMatches(certificate.getPublicKey(), key)) {
            throw new IOException(keyPem + " is not the private key of the certificate in " + certPem);
        }
        return new CertificateAuthority(certificate, key, Clock.systemUTC());
    }

    /** Writes the CA certificate (0644) and key (0600); refuses if either file exists. */
    public void writeTo(Path certPem, Path keyPem) throws IOException {
        new IssuedCertificate(certificate, privateKey).writeTo(certPem, keyPem);
    }

    public X509Certificate certificate() {
        return certificate;
    }

    /** The operator's client certificate: {@code CN=<commonName>,OU=coordinator}, EKU clientAuth. */
    public IssuedCertificate issueCoordinator(String commonName, Duration validity) {
        requirePositive(validity);
        Instant now = clock.instant();
        return issue(new CertificateSpec(Role.COORDINATOR, commonName, List.of(), now.minus(CLOCK_SKEW), now.plus(validity)));
    }

    /**
     * An agent's certificate: {@code CN=<hostName>,OU=agent}; every address becomes an IP or DNS
     * SAN, and {@code hostName} a DNS SAN too when it is a valid DNS name; EKU serverAuth and clientAuth.
     */
    public IssuedCertificate issueAgent(String hostName, List<String> addresses, Duration validity) {
        requirePositive(validity);
        Instant now = clock.instant();
        return issue(new CertificateSpec(Role.AGENT, hostName, sans(hostName, addresses), now.minus(CLOCK_SKEW), now.plus(validity)));
    }

    /**
     * An etcd member's certificate, for both its client and its peer URLs: {@code CN=<name>,OU=etcd-member},
     * every address an IP or DNS SAN ({@code name} too when it is a DNS name), EKU serverAuth and clientAuth
     * (a member dials its peers with the same certificate).
     */
    public IssuedCertificate issueEtcdMember(String name, List<String> addresses, Duration validity) {
        requirePositive(validity);
        Instant now = clock.instant();
        return issue(new CertificateSpec(Role.ETCD_MEMBER, name, sans(name, addresses), now.minus(CLOCK_SKEW), now.plus(validity)));
    }

    /**
     * A client certificate for etcd: {@code CN=<commonName>,OU=etcd-client}, EKU clientAuth. With
     * {@code --client-cert-auth} and auth enabled, etcd takes the CN as the user name, which works
     * even on a member that lost quorum (a password login needs a raft round trip).
     */
    public IssuedCertificate issueEtcdClient(String commonName, Duration validity) {
        requirePositive(validity);
        Instant now = clock.instant();
        return issue(new CertificateSpec(Role.ETCD_CLIENT, commonName, List.of(), now.minus(CLOCK_SKEW), now.plus(validity)));
    }

    private static List<String> sans(String name, List<String> addresses) {
        List<String> sans = new ArrayList<>();
        for (String address : addresses) {
            String san = HostNames.stripBrackets(address);
            if (!sans.contains(san)) {
                sans.add(san);
            }
        }
        if (HostNames.isDnsName(name) && !sans.contains(name)) {
            sans.add(name);
        }
        return sans;
    }

    /**
     * A new coordinator certificate for the key of {@code existing} (the key stays, only the validity
     * is new), so that agents pinning that key ({@code tls.coordinator_spki_sha256}) keep accepting it.
     */
    public IssuedCertificate renewCoordinator(IssuedCertificate existing, Duration validity) {
        requirePositive(validity);
        Instant now = clock.instant();
        CertificateSpec spec = new CertificateSpec(Role.COORDINATOR,
                SubjectNames.commonName(existing.certificate()).orElse("etcd-rescue-coordinator"), List.of(),
                now.minus(CLOCK_SKEW), now.plus(validity));
        return issue(spec, new KeyPair(existing.certificate().getPublicKey(), existing.privateKey()));
    }

    /**
     * A CRL signed by this CA that lists {@code serials}, valid for {@code validity}. Agents honour it
     * whatever its nextUpdate (agent.yaml {@code tls.crl}); the dates are for other readers.
     */
    public X509CRL revocationList(Collection<BigInteger> serials, Duration validity) {
        requirePositive(validity);
        Instant now = clock.instant();
        X500Name issuer = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded());
        X509v2CRLBuilder builder = new X509v2CRLBuilder(issuer, Date.from(now));
        builder.setNextUpdate(Date.from(now.plus(validity)));
        for (BigInteger serial : new TreeSet<>(serials)) {
            builder.addCRLEntry(serial, Date.from(now), CRLReason.keyCompromise);
        }
        try {
            ContentSigner signer = new JcaContentSignerBuilder(signatureAlgorithm(privateKey)).build(privateKey);
            return new JcaX509CRLConverter().getCRL(builder.build(signer));
        } catch (OperatorCreationException | java.security.cert.CRLException e) {
            throw new IllegalStateException("signing the CRL failed", e);
        }
    }

    /** A certificate exactly as specified, with a fresh EC P-256 key. */
    public IssuedCertificate issue(CertificateSpec spec) {
        return issue(spec, newKeyPair());
    }

    private IssuedCertificate issue(CertificateSpec spec, KeyPair keys) {
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.CN, spec.commonName())
                .addRDN(BCStyle.OU, spec.role().organizationalUnit())
                .build();
        try {
            JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(certificate, newSerial(),
                    Date.from(spec.notBefore()), Date.from(spec.notAfter()), subject, keys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, extendedKeyUsage(spec.role()))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            extensions.createSubjectKeyIdentifier(keys.getPublic()))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            extensions.createAuthorityKeyIdentifier(certificate));
            if (!spec.sans().isEmpty()) {
                builder.addExtension(Extension.subjectAlternativeName, false, generalNames(spec.sans()));
            }
            return new IssuedCertificate(sign(builder, privateKey), keys.getPrivate());
        } catch (GeneralSecurityException | CertIOException e) {
            throw new IllegalStateException("issuing a certificate for " + spec.commonName() + " failed", e);
        }
    }

    private static ExtendedKeyUsage extendedKeyUsage(Role role) {
        return switch (role) {
            case COORDINATOR, ETCD_CLIENT -> new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth);
            case AGENT, ETCD_MEMBER -> new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth});
        };
    }

    private static GeneralNames generalNames(List<String> sans) {
        GeneralName[] names = new GeneralName[sans.size()];
        for (int i = 0; i < names.length; i++) {
            String san = sans.get(i);
            names[i] = HostNames.isIpLiteral(san)
                    ? new GeneralName(GeneralName.iPAddress, HostNames.stripBrackets(san))
                    : new GeneralName(GeneralName.dNSName, san);
        }
        return new GeneralNames(names);
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signingKey) {
        try {
            ContentSigner signer = new JcaContentSignerBuilder(signatureAlgorithm(signingKey)).build(signingKey);
            return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
        } catch (OperatorCreationException | CertificateException e) {
            throw new IllegalStateException("signing a certificate failed", e);
        }
    }

    private static String signatureAlgorithm(PrivateKey key) {
        return "RSA".equals(key.getAlgorithm()) ? RSA_SIGNATURE_ALGORITHM : SIGNATURE_ALGORITHM;
    }

    private static KeyPair newKeyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JVM cannot generate EC P-256 keys", e);
        }
    }

    /** 127 random bits: unique without state, positive as RFC 5280 requires. */
    private static BigInteger newSerial() {
        return new BigInteger(127, RANDOM);
    }

    private static boolean keyMatches(PublicKey publicKey, PrivateKey privateKey) {
        try {
            byte[] challenge = new byte[32];
            RANDOM.nextBytes(challenge);
            var signer = java.security.Signature.getInstance(signatureAlgorithm(privateKey));
            signer.initSign(privateKey);
            signer.update(challenge);
            byte[] signature = signer.sign();
            var verifier = java.security.Signature.getInstance(signatureAlgorithm(privateKey));
            verifier.initVerify(publicKey);
            verifier.update(challenge);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static void requirePositive(Duration validity) {
        Objects.requireNonNull(validity, "validity");
        if (validity.isNegative() || validity.isZero()) {
            throw new IllegalArgumentException("validity must be positive, got " + validity);
        }
    }
}
