package dev.etcdrescue.agent.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The agent's own certificate, key and the fleet CA; optionally the one coordinator CN accepted, the
 * coordinator keys accepted (SHA-256 of their SubjectPublicKeyInfo, lowercase hex), and the fleet CA's
 * CRL of revoked certificates.
 */
public record TlsConfig(Path ca, Path cert, Path key, Optional<String> coordinatorCn,
                        List<String> coordinatorSpkiSha256, Optional<Path> crl) {
    public TlsConfig(Path ca, Path cert, Path key, Optional<String> coordinatorCn) {
        this(ca, cert, key, coordinatorCn, List.of(), Optional.empty());
    }
}
