package dev.etcdrescue.coordinator.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.RelayGrantSignature;
import dev.etcdrescue.proto.v1.RelayGrant;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What the coordinator signs for a send from the snapshot's source: who may send to whom, and how. */
@Timeout(30)
class SourceGrantsTest {
    private static final Instant UNTIL = Instant.ofEpochMilli(1_900_000_000_000L);
    private static final List<String> RECEIVERS = List.of("beta-1", "beta-2");
    private static final List<String> ENDPOINTS = List.of("10.0.0.2:7443", "10.0.0.3:7443");

    @TempDir
    Path tls;
    private IssuedCertificate coordinator;
    private AgentChannels channels;

    @BeforeEach
    void pki() throws Exception {
        CertificateAuthority fleet = CertificateAuthority.create("fleet", Duration.ofDays(1));
        fleet.writeTo(tls.resolve("ca.pem"), tls.resolve("ca-key.pem"));
        coordinator = fleet.issueCoordinator("etcd-rescue-coordinator", Duration.ofDays(1));
        coordinator.writeTo(tls.resolve("coordinator.pem"), tls.resolve("coordinator-key.pem"));
        channels = AgentChannels.fromDir(tls);
    }

    @Test
    void aFanOutLetsTheSourceSendToEveryReceiverAndEachReceiverTakeItFromTheSourceOnly() {
        Map<String, RelayGrant> grants = SourceTransfer.grants(channels, "sha256-ab", "op-1", "beta-0", RECEIVERS, ENDPOINTS, true, UNTIL);

        assertThat(grants).containsOnlyKeys("beta-0", "beta-1", "beta-2");
        RelayGrant source = grants.get("beta-0");
        assertThat(source.getHolder()).isEqualTo("beta-0");
        assertThat(source.getFanOut()).isTrue();
        assertThat(source.getNextHopsList()).isEqualTo(ENDPOINTS);
        for (String receiver : RECEIVERS) {
            RelayGrant own = grants.get(receiver);
            assertThat(own.getHolder()).isEqualTo(receiver);
            assertThat(own.getNextHopsList()).as("a receiver of a fan-out forwards nothing").isEmpty();
            assertThat(own.getUpstream()).isEqualTo("beta-0");
            assertThat(own.getFanOut()).isFalse();
        }
        grants.values().forEach(g -> assertThat(verifies(g)).as(g.getHolder()).isTrue());
    }

    @Test
    void aChainNamesForEveryHopTheHopsAfterItAndNoUpstream() {
        Map<String, RelayGrant> grants = SourceTransfer.grants(channels, "sha256-ab", "op-1", "beta-0", RECEIVERS, ENDPOINTS, false, UNTIL);

        assertThat(grants.get("beta-0").getFanOut()).isFalse();
        assertThat(grants.get("beta-0").getNextHopsList()).isEqualTo(ENDPOINTS);
        assertThat(grants.get("beta-1").getNextHopsList()).containsExactly("10.0.0.3:7443");
        assertThat(grants.get("beta-2").getNextHopsList()).isEmpty();
        assertThat(grants.values()).allSatisfy(g -> assertThat(g.getUpstream()).isEmpty());
        grants.values().forEach(g -> assertThat(verifies(g)).as(g.getHolder()).isTrue());
    }

    @Test
    void aChainRunsOnlyAsTheFirstRoundWithNoReceiverHoldingPartOfTheFile() {
        assertThat(SourceTransfer.fanOut(true, 1, false)).as("planned chain, fresh").isFalse();
        assertThat(SourceTransfer.fanOut(true, 1, true)).as("a hop resumes at its own offset").isTrue();
        assertThat(SourceTransfer.fanOut(true, 2, false)).as("after a failed round").isTrue();
        assertThat(SourceTransfer.fanOut(false, 1, false)).isTrue();
    }

    private boolean verifies(RelayGrant g) {
        byte[] payload = RelayGrantSignature.payload(g.getTransferId(), g.getOperationId(), g.getHolder(), g.getNextHopsList(),
                g.getValidUntilUnixMs(), g.getFanOut(), g.getUpstream());
        return RelayGrantSignature.verify(coordinator.certificate(), payload, g.getSignature().toByteArray());
    }
}
