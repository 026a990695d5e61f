package dev.etcdrescue.pki;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class RelayGrantSignatureTest {
    private static final CertificateAuthority FLEET = CertificateAuthority.create("fleet", Duration.ofDays(1));
    private static final IssuedCertificate COORDINATOR = FLEET.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1));

    @Test
    void aSignedGrantVerifiesOnlyWithTheSignersCertificateAndItsExactFields() {
        byte[] payload = RelayGrantSignature.payload("t-1", "op-1", "h", List.of("10.0.0.2:7443", "10.0.0.3:7443"), 1000);
        byte[] signature = RelayGrantSignature.sign(COORDINATOR.privateKey(), payload);

        assertThat(RelayGrantSignature.verify(COORDINATOR.certificate(), payload, signature)).isTrue();
        IssuedCertificate other = FLEET.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1));
        assertThat(RelayGrantSignature.verify(other.certificate(), payload, signature)).isFalse();
        assertThat(RelayGrantSignature.verify(COORDINATOR.certificate(),
                RelayGrantSignature.payload("t-2", "op-1", "h", List.of("10.0.0.2:7443", "10.0.0.3:7443"), 1000), signature)).isFalse();
        assertThat(RelayGrantSignature.verify(COORDINATOR.certificate(),
                RelayGrantSignature.payload("t-1", "op-1", "h", List.of("10.0.0.3:7443"), 1000), signature)).isFalse();
        assertThat(RelayGrantSignature.verify(COORDINATOR.certificate(),
                RelayGrantSignature.payload("t-1", "op-1", "h", List.of("10.0.0.2:7443", "10.0.0.3:7443"), 1001), signature)).isFalse();
        assertThat(RelayGrantSignature.verify(COORDINATOR.certificate(),
                RelayGrantSignature.payload("t-1", "op-1", "other-host", List.of("10.0.0.2:7443", "10.0.0.3:7443"), 1000), signature)).isFalse();
        assertThat(RelayGrantSignature.verify(COORDINATOR.certificate(), payload, new byte[] {1, 2, 3})).isFalse();
    }

    @Test
    void fieldBoundariesAreUnambiguous() {
        assertThat(RelayGrantSignature.payload("ab", "c", "h", List.of(), 0))
                .isNotEqualTo(RelayGrantSignature.payload("a", "bc", "h", List.of(), 0));
        assertThat(RelayGrantSignature.payload("a", "b", "h", List.of("x", "y"), 0))
                .isNotEqualTo(RelayGrantSignature.payload("a", "b", "h", List.of("xy"), 0));
    }

    @Test
    void fanOutAndUpstreamAreSignedAndAChainGrantKeepsItsBytes() {
        List<String> hops = List.of("10.0.0.2:7443", "10.0.0.3:7443");
        byte[] chain = RelayGrantSignature.payload("t-1", "op-1", "h", hops, 1000);
        assertThat(RelayGrantSignature.payload("t-1", "op-1", "h", hops, 1000, false, "")).isEqualTo(chain);

        byte[] fanOut = RelayGrantSignature.payload("t-1", "op-1", "h", hops, 1000, true, "");
        byte[] signature = RelayGrantSignature.sign(COORDINATOR.privateKey(), fanOut);
        assertThat(RelayGrantSignature.verify(COORDINATOR.certificate(), fanOut, signature)).isTrue();
        assertThat(RelayGrantSignature.verify(COORDINATOR.certificate(), chain, signature)).as("a fan-out is no chain").isFalse();

        byte[] receiver = RelayGrantSignature.payload("t-1", "op-1", "b", List.of(), 1000, false, "source-a");
        byte[] receiverSignature = RelayGrantSignature.sign(COORDINATOR.privateKey(), receiver);
        assertThat(RelayGrantSignature.verify(COORDINATOR.certificate(),
                RelayGrantSignature.payload("t-1", "op-1", "b", List.of(), 1000, false, "source-x"), receiverSignature)).isFalse();
    }
}
