package dev.etcdrescue.agent.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.testing.RelayGrants;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.proto.v1.RelayGrant;
import io.grpc.Status;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The grant checks alone, with a fixed clock: which upstream grants an agent accepts. */
@Timeout(30)
class RelayGrantsTest {
    private static final CertificateAuthority FLEET = CertificateAuthority.create("fleet", Duration.ofDays(1));
    private static final IssuedCertificate COORDINATOR = FLEET.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1));
    private static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");
    private static final Instant LATER = NOW.plusSeconds(60);

    private final dev.etcdrescue.agent.transfer.RelayGrants grants =
            new dev.etcdrescue.agent.transfer.RelayGrants(Clock.fixed(NOW, ZoneOffset.UTC));

    @Test
    void theMiddleOfAChainAcceptsItsUpstreamsGrantAndNothingElse() {
        grants.announce("t", "op", RelayGrants.sign(COORDINATOR, "t", "op", "a", List.of("c:1"), LATER), COORDINATOR.certificate(), Map.of());

        assertThatCode(() -> grants.checkUpstream(RelayGrants.sign(COORDINATOR, "t", "op", "a", List.of("b:1", "c:1"), LATER), "op", "a"))
                .doesNotThrowAnyException();
        denied(RelayGrants.sign(COORDINATOR, "t", "op", "a", List.of("c:1"), LATER), "op");          // the grant of the hop after it
        denied(RelayGrants.sign(COORDINATOR, "t", "op", "a", List.of("x:1", "b:1", "c:1"), LATER), "op");
        denied(RelayGrants.sign(COORDINATOR, "t", "op", "a", List.of("b:1", "c:1"), NOW), "op");    // expires now
        denied(RelayGrants.sign(COORDINATOR, "t", "op", "a", List.of("b:1", "c:1"), LATER), "op-2");
        denied(RelayGrants.sign(COORDINATOR, "u", "op", "a", List.of("b:1", "c:1"), LATER), "op");   // never announced
        IssuedCertificate other = FLEET.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1));
        denied(RelayGrants.sign(other, "t", "op", "a", List.of("b:1", "c:1"), LATER), "op");
        denied(RelayGrants.sign(COORDINATOR, "t", "op", "x", List.of("b:1", "c:1"), LATER), "op");    // another agent's grant
        denied(RelayGrants.sign(COORDINATOR, "t", "op", "a", List.of("b:1", "c:1"), LATER).toBuilder().setHolder("x")
                .build(), "op");                                                                    // holder altered after signing
        denied(RelayGrants.sign(COORDINATOR, "t", "op", "a", List.of("b:1", "c:1"), LATER).toBuilder()
                .addNextHops("d:1").build(), "op");                                                 // altered after signing
    }

    @Test
    void dataPortsAreKeptForTheGrantsOwnNextHopsOnly() {
        RelayGrant own = RelayGrants.sign(COORDINATOR, "t", "op", "a", List.of("c:1"), LATER);
        grants.announce("t", "op", own, COORDINATOR.certificate(), Map.of("c:1", 7444));
        assertThat(grants.dataPort("t", "c:1")).isEqualTo(7444);
        assertThat(grants.dataPort("t", "d:1")).isZero();
        assertThat(grants.dataPort("u", "c:1")).isZero();

        assertThatThrownBy(() -> grants.announce("t", "op", own, COORDINATOR.certificate(), Map.of("d:1", 7444)))
                .isInstanceOf(AgentException.class).hasMessageContaining("not a next hop of the grant");
        assertThatThrownBy(() -> grants.announce("t", "op", own, COORDINATOR.certificate(), Map.of("c:1", 70000)))
                .isInstanceOf(AgentException.class).hasMessageContaining("1 to 65535");
    }

    @Test
    void anAnnouncementIsCheckedAgainstTheCallingCoordinatorAndAForgottenOneAcceptsNoRelay() {
        IssuedCertificate other = FLEET.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1));
        assertThatThrownBy(() -> grants.announce("t", "op", RelayGrants.sign(other, "t", "op", "a", List.of(), LATER),
                COORDINATOR.certificate(), Map.of())).isInstanceOf(AgentException.class);

        grants.announce("t", "op", RelayGrants.sign(COORDINATOR, "t", "op", "a", List.of(), LATER), COORDINATOR.certificate(), Map.of());
        grants.forget("t");
        denied(RelayGrants.sign(COORDINATOR, "t", "op", "a", List.of("b:1"), LATER), "op");
    }

    private void denied(dev.etcdrescue.proto.v1.RelayGrant grant, String operationId) {
        assertThatThrownBy(() -> grants.checkUpstream(grant, operationId, "a")).isInstanceOfSatisfying(AgentException.class,
                e -> org.assertj.core.api.Assertions.assertThat(e.code()).isEqualTo(Status.Code.PERMISSION_DENIED));
    }
}
