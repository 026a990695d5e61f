package dev.etcdrescue.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.Pem;
import dev.etcdrescue.pki.PublicKeyPins;
import dev.etcdrescue.proto.v1.ClaimRequest;
import dev.etcdrescue.proto.v1.GetStatusRequest;
import dev.etcdrescue.proto.v1.ReleaseClaimRequest;
import dev.etcdrescue.proto.v1.UnitRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A leaked coordinator credential can be cut off: it expires soon (short-lived certificates), a CRL
 * revokes it without a restart, and a pinned agent serves only the pinned key. Each over real mTLS.
 */
@Tag("etcd")
@Timeout(60)
class CoordinatorCredentialsTest {
    @TempDir
    Path tmp;

    @Test
    void aShortLivedCoordinatorCertificateIsRefusedOnceExpired() throws Exception {
        try (AgentFixture agent = new AgentFixture(tmp)) {
            // Issued certificates start 5 minutes back for clock skew; this one ends 2 s from now.
            IssuedCertificate brief = agent.certs.fleet.issueCoordinator("etcd-rescue-coordinator", Duration.ofSeconds(2));
            assertThat(agent.as(brief).getStatus(GetStatusRequest.getDefaultInstance()).getHostName()).isEqualTo(AgentFixture.HOST);
            Thread.sleep(3000);
            assertThatThrownBy(() -> agent.as(brief).getStatus(GetStatusRequest.getDefaultInstance()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode())
                            .isIn(Status.Code.UNAVAILABLE, Status.Code.UNKNOWN, Status.Code.INTERNAL));
        }
    }

    @Test
    void aRevokedCoordinatorIsRefusedAndTheCrlIsReReadWithoutARestart() throws Exception {
        try (AgentFixture agent = new AgentFixture(tmp)) {
            IssuedCertificate leaked = agent.certs.fleet.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1));
            Path crl = tmp.resolve("crl.pem");
            Pem.replaceCrl(crl, agent.certs.fleet.revocationList(List.of(leaked.certificate().getSerialNumber()), Duration.ofDays(7)));
            agent.reconfigureTls("crl: " + crl);

            refused(() -> agent.as(leaked).getStatus(GetStatusRequest.getDefaultInstance()), "is revoked by " + crl, "tls.crl");
            assertThat(agent.coordinator().getStatus(GetStatusRequest.getDefaultInstance()).getHostName()).isEqualTo(AgentFixture.HOST);
            assertThat(agent.config.auditLog()).doesNotExist(); // GetStatus is read-only: refusals of reads are not audited

            BigInteger current = agent.certs.coordinator.certificate().getSerialNumber();
            Thread.sleep(1100); // a new mtime on file systems with one-second timestamps
            Pem.replaceCrl(crl, agent.certs.fleet.revocationList(List.of(leaked.certificate().getSerialNumber(), current),
                    Duration.ofDays(7)));
            refused(() -> agent.coordinator().getStatus(GetStatusRequest.getDefaultInstance()), "is revoked");
        }
    }

    @Test
    void aCrlNotSignedByTheFleetCaStopsTheAgentFromStarting() throws Exception {
        try (AgentFixture agent = new AgentFixture(tmp)) {
            Path crl = tmp.resolve("crl.pem");
            Pem.replaceCrl(crl, agent.certs.foreign.revocationList(List.of(BigInteger.ONE), Duration.ofDays(7)));
            assertThatThrownBy(() -> agent.reconfigureTls("crl: " + crl)).hasMessageContaining("not of the fleet CA");
        }
    }

    @Test
    void aPinnedAgentServesOnlyThePinnedKeyAlsoWhenItsCertificateIsRenewed() throws Exception {
        try (AgentFixture agent = new AgentFixture(tmp)) {
            agent.reconfigureTls("coordinator_spki_sha256: [" + PublicKeyPins.spkiSha256(agent.certs.coordinator.certificate()) + "]");
            IssuedCertificate sameNameOtherKey = agent.certs.fleet.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1));
            IssuedCertificate renewed = agent.certs.fleet.renewCoordinator(agent.certs.coordinator, Duration.ofDays(7));

            refused(() -> agent.as(sameNameOtherKey).getStatus(GetStatusRequest.getDefaultInstance()),
                    "presents key " + PublicKeyPins.spkiSha256(sameNameOtherKey.certificate()), "tls.coordinator_spki_sha256");
            assertThat(agent.as(renewed).getStatus(GetStatusRequest.getDefaultInstance()).getHostName()).isEqualTo(AgentFixture.HOST);
            assertThat(renewed.certificate().getSerialNumber()).isNotEqualTo(agent.certs.coordinator.certificate().getSerialNumber());
        }
    }

    @Test
    void aClaimServesOnlyTheCoordinatorKeyThatMadeIt() throws Exception {
        try (AgentFixture agent = new AgentFixture(tmp)) {
            agent.claim("op-mine");
            IssuedCertificate second = agent.certs.fleet.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1));
            IssuedCertificate renewed = agent.certs.fleet.renewCoordinator(agent.certs.coordinator, Duration.ofDays(1));
            var header = agent.headerFor("op-mine");

            refused(() -> agent.as(second).claim(ClaimRequest.newBuilder().setHeader(header).build()),
                    "was claimed by the coordinator with key " + PublicKeyPins.spkiSha256(agent.certs.coordinator.certificate()));
            refused(() -> agent.as(second).stopMember(UnitRequest.newBuilder().setHeader(header).setUnit("etcd").build()),
                    "only that coordinator may act under its claim");
            refused(() -> agent.as(second).releaseClaim(ReleaseClaimRequest.newBuilder().setHeader(header).build()),
                    "only that coordinator may act under its claim");
            assertThat(agent.systemctl.calls()).isEmpty();

            agent.as(renewed).stopMember(UnitRequest.newBuilder().setHeader(header).setUnit("etcd").build());
            assertThat(agent.systemctl.calls()).contains("stop etcd");
        }
    }

    private static void refused(ThrowingCallable call, String... message) {
        assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(e.getStatus().getDescription()).contains(message);
        });
    }
}
