package dev.etcdrescue.coordinator.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.RelayGrantSignature;
import dev.etcdrescue.proto.v1.RelayGrant;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class RelayGrantSigningTest {
    @TempDir
    Path tls;

    @Test
    void theCoordinatorSignsGrantsWithItsOwnTlsKeySoAgentsCanCheckThemAgainstItsCertificate() throws Exception {
        CertificateAuthority fleet = CertificateAuthority.create("fleet", Duration.ofDays(1));
        fleet.writeTo(tls.resolve("ca.pem"), tls.resolve("ca-key.pem"));
        IssuedCertificate coordinator = fleet.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1));
        coordinator.writeTo(tls.resolve("coordinator.pem"), tls.resolve("coordinator-key.pem"));
        Instant until = Instant.ofEpochMilli(1_900_000_000_000L);

        RelayGrant grant = AgentChannels.fromDir(tls).grant("t-1", "op-1", "beta-1", List.of("10.0.0.2:7443"), until);

        assertThat(grant.getNextHopsList()).containsExactly("10.0.0.2:7443");
        assertThat(grant.getValidUntilUnixMs()).isEqualTo(until.toEpochMilli());
        byte[] payload = RelayGrantSignature.payload("t-1", "op-1", "beta-1", List.of("10.0.0.2:7443"), until.toEpochMilli());
        assertThat(RelayGrantSignature.verify(coordinator.certificate(), payload, grant.getSignature().toByteArray())).isTrue();
        IssuedCertificate agent = fleet.issueAgent("h", List.of("10.0.0.2"), Duration.ofDays(1));
        assertThat(RelayGrantSignature.verify(agent.certificate(), payload, grant.getSignature().toByteArray())).isFalse();
    }

    @Test
    void aCoordinatorKeyReadableByOthersIsRefused() throws Exception {
        CertificateAuthority fleet = CertificateAuthority.create("fleet", Duration.ofDays(1));
        fleet.writeTo(tls.resolve("ca.pem"), tls.resolve("ca-key.pem"));
        fleet.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1))
                .writeTo(tls.resolve("coordinator.pem"), tls.resolve("coordinator-key.pem"));
        java.nio.file.Files.setPosixFilePermissions(tls.resolve("coordinator-key.pem"),
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));

        assertThatThrownBy(() -> AgentChannels.fromDir(tls)).isInstanceOf(UserException.class)
                .hasMessageContaining("is readable by others (mode rw-r--r--): chmod 600");
    }
}
