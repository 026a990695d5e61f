package dev.etcdrescue.agent.server;

import dev.etcdrescue.agent.config.TlsConfig;
import dev.etcdrescue.pki.PublicKeyPins;
import dev.etcdrescue.pki.RevocationList;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/**
 * What the handshake does not check about a caller of the fleet CA: that its certificate is not on
 * the CA's CRL ({@code tls.crl}, re-read when the file changes, so {@code pki revoke} takes effect
 * without a restart), and for a coordinator its CN ({@code tls.coordinator_cn}) and key
 * ({@code tls.coordinator_spki_sha256}). An unreadable CRL refuses every caller: failing open would make
 * deleting the file a way round it.
 */
public final class CallerPolicy {
    private final TlsConfig tls;
    private final X509Certificate ca;
    private Loaded loaded;

    private record Loaded(FileTime modified, long size, RevocationList list) {}

    private CallerPolicy(TlsConfig tls, X509Certificate ca) {
        this.tls = tls;
        this.ca = ca;
    }

    /** Fails when a configured CRL cannot be read or is not the CA's, so a broken file stops the start. */
    public static CallerPolicy of(TlsConfig tls) throws IOException {
        CallerPolicy policy = new CallerPolicy(tls, RevocationList.trustAnchor(tls.ca()));
        if (tls.crl().isPresent()) {
            policy.current(tls.crl().get());
        }
        return policy;
    }

    /** Why any caller with this certificate is refused: revoked, or no CRL to tell. */
    public Optional<String> revocation(X509Certificate cert) {
        if (tls.crl().isEmpty()) {
            return Optional.empty();
        }
        Path file = tls.crl().get();
        try {
            return current(file).revokes(cert)
                    ? Optional.of("certificate serial " + cert.getSerialNumber().toString(16) + " is revoked by " + file + " (tls.crl)")
                    : Optional.empty();
        } catch (IOException e) {
            return Optional.of("the CRL " + file + " (tls.crl) cannot be read, so no caller is accepted: " + e.getMessage());
        }
    }

    /** Why a certificate of the coordinator role is not this agent's coordinator, if it is not. */
    public Optional<String> coordinatorRefusal(String commonName, X509Certificate cert) {
        if (tls.coordinatorCn().isPresent() && !tls.coordinatorCn().get().equals(commonName)) {
            return Optional.of("coordinator " + commonName + " is not the one this agent accepts ("
                    + tls.coordinatorCn().get() + "): see tls.coordinator_cn");
        }
        List<String> pins = tls.coordinatorSpkiSha256();
        if (!pins.isEmpty()) {
            String spki = PublicKeyPins.spkiSha256(cert);
            if (!pins.contains(spki)) {
                return Optional.of("coordinator " + commonName + " presents key " + spki
                        + ", which is not pinned in tls.coordinator_spki_sha256 on this agent");
            }
        }
        return Optional.empty();
    }

    private synchronized RevocationList current(Path file) throws IOException {
        FileTime modified = Files.getLastModifiedTime(file);
        long size = Files.size(file);
        if (loaded == null || !loaded.modified().equals(modified) || loaded.size() != size) {
            loaded = new Loaded(modified, size, RevocationList.load(file, ca));
        }
        return loaded.list();
    }
}
