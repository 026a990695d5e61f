package dev.etcdrescue.agent.transfer;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.testing.RelayGrants;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.proto.v1.RelayGrant;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Who a receiver of a fan-out from the snapshot's source takes the transfer from: the source its grant names, only. */
@Timeout(30)
class RelayGrantsFanOutTest {
    private static final CertificateAuthority FLEET = CertificateAuthority.create("fleet", Duration.ofDays(1));
    private static final IssuedCertificate COORDINATOR = FLEET.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1));
    private static final Instant LATER = Instant.now().plus(Duration.ofMinutes(5));
    private static final List<String> HOPS = List.of("10.0.0.2:7443", "10.0.0.3:7443");

    private final dev.etcdrescue.agent.transfer.RelayGrants grants = new dev.etcdrescue.agent.transfer.RelayGrants(Clock.systemUTC());

    @Test
    void theSourcesFanOutGrantIsAcceptedFromTheSourceOnly() {
        grants.announce("t-1", "op-1", RelayGrants.sign(COORDINATOR, "t-1", "op-1", "beta-1", List.of(), LATER, false, "beta-0"),
                COORDINATOR.certificate(), Map.of());
        RelayGrant fanOut = RelayGrants.sign(COORDINATOR, "t-1", "op-1", "beta-0", HOPS, LATER, true, "");

        assertThatCode(() -> grants.checkUpstream(fanOut, "op-1", "beta-0")).doesNotThrowAnyException();
        assertThatThrownBy(() -> grants.checkUpstream(fanOut, "op-1", "beta-2")).as("presented by another agent")
                .isInstanceOf(AgentException.class).hasMessageContaining("is for agent beta-0, but agent beta-2 presented it");
        RelayGrant otherSource = RelayGrants.sign(COORDINATOR, "t-1", "op-1", "beta-2", HOPS, LATER, true, "");
        assertThatThrownBy(() -> grants.checkUpstream(otherSource, "op-1", "beta-2")).as("a fan-out of another holder")
                .isInstanceOf(AgentException.class).hasMessageContaining("only from beta-0's fan-out, not from beta-2");
        RelayGrant chain = RelayGrants.sign(COORDINATOR, "t-1", "op-1", "beta-0", HOPS, LATER, false, "");
        assertThatThrownBy(() -> grants.checkUpstream(chain, "op-1", "beta-0")).as("the source's chain grant is no fan-out")
                .isInstanceOf(AgentException.class).hasMessageContaining("beta-0's chain");
        assertThatThrownBy(() -> grants.checkUpstream(fanOut.toBuilder().setUpstream("x").build(), "op-1", "beta-0"))
                .as("a field changed after signing").isInstanceOf(AgentException.class).hasMessageContaining("is not signed by the coordinator");
    }
}
