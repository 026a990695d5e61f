package dev.etcdrescue.agent.testing;

import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.TlsContexts;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** A fleet CA with an agent and a coordinator certificate, plus a foreign CA, written as PEM files. */
public final class TestCerts {
    private static final Duration VALIDITY = Duration.ofDays(1);

    public final CertificateAuthority fleet;
    public final CertificateAuthority foreign;
    public final IssuedCertificate agent;
    public final IssuedCertificate coordinator;
    public final Path dir;

    public TestCerts(Path dir, String hostName) throws IOException {
        this(dir, hostName, null);
    }

    /** @param sameFleet another host's certificates: this one shares its CAs and coordinator (null: a new fleet) */
    public TestCerts(Path dir, String hostName, TestCerts sameFleet) throws IOException {
        this.dir = Files.createDirectories(dir);
        fleet = sameFleet != null ? sameFleet.fleet : CertificateAuthority.create("test fleet CA", VALIDITY);
        foreign = sameFleet != null ? sameFleet.foreign : CertificateAuthority.create("foreign CA", VALIDITY);
        agent = fleet.issueAgent(hostName, List.of("127.0.0.1"), VALIDITY);
        coordinator = sameFleet != null ? sameFleet.coordinator : fleet.issueCoordinator("etcd-rescue-coordinator", VALIDITY);
        fleet.writeTo(dir.resolve("ca.pem"), dir.resolve("ca-key.pem"));
        agent.writeTo(dir.resolve("agent.pem"), dir.resolve("agent-key.pem"));
    }

    public SslContext clientContext(IssuedCertificate identity) throws IOException {
        return TlsContexts.grpcClient(identity, fleet.certificate());
    }
}
