package dev.etcdrescue.pki;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class DsseSignatureTest {
    private static final String TYPE = "application/vnd.etcd-rescue.backup-manifest+json";
    private final CertificateAuthority ca = CertificateAuthority.create("fleet", Duration.ofDays(1));
    private final IssuedCertificate agent = ca.issueAgent("node-1", List.of("127.0.0.1"), Duration.ofDays(1));
    private final byte[] manifest = "{\"revision\":41}".getBytes(StandardCharsets.UTF_8);

    @Test
    void thePreAuthenticationEncodingIsDsseV1s() {
        assertThat(new String(DsseSignature.pae("t", "hello".getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8))
                .isEqualTo("DSSEv1 1 t 5 hello");
    }

    @Test
    void anAgentsSignatureOverTheManifestHolds() {
        byte[] sig = DsseSignature.sign(agent.privateKey(), TYPE, manifest);
        assertThat(DsseSignature.verify(ca.certificate(), agent.certificate(), TYPE, manifest, sig)).isEmpty();
    }

    @Test
    void changedBytesAnotherTypeAnotherCaOrAnotherRoleAreRefused() {
        byte[] sig = DsseSignature.sign(agent.privateKey(), TYPE, manifest);
        byte[] changed = "{\"revision\":42}".getBytes(StandardCharsets.UTF_8);
        assertThat(DsseSignature.verify(ca.certificate(), agent.certificate(), TYPE, changed, sig)).contains(
                "the signature does not match the manifest");
        assertThat(DsseSignature.verify(ca.certificate(), agent.certificate(), "application/other", manifest, sig)).isPresent();
        CertificateAuthority other = CertificateAuthority.create("other", Duration.ofDays(1));
        assertThat(DsseSignature.verify(other.certificate(), agent.certificate(), TYPE, manifest, sig)).get().asString()
                .contains("not issued by the fleet CA");
        IssuedCertificate coordinator = ca.issueCoordinator("operator", Duration.ofDays(1));
        byte[] byCoordinator = DsseSignature.sign(coordinator.privateKey(), TYPE, manifest);
        assertThat(DsseSignature.verify(ca.certificate(), coordinator.certificate(), TYPE, manifest, byCoordinator)).get().asString()
                .contains("not an agent's");
    }
}
