package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class AgentErrorsTest {
    private static final String AGENT = "10.0.0.5:7443";

    @Test
    void aConnectionLostDuringACallSaysSoAndPointsAtTheAgentsJournalNotAtCertificates() {
        String m = AgentErrors.describe(Status.UNAVAILABLE.withDescription("Network closed for unknown reason").asRuntimeException(), AGENT);
        assertThat(m).startsWith("connection to agent " + AGENT + " lost during the call").contains("journalctl -u etcd-rescue-agent")
                .doesNotContain("certificate");
    }

    @Test
    void anAgentThatCannotBeReachedAtAllGetsTheConnectionHint() {
        String m = AgentErrors.describe(Status.UNAVAILABLE.withDescription("io exception").withCause(new IOException("Connection refused"))
                .asRuntimeException(), AGENT);
        assertThat(m).startsWith("agent " + AGENT + " unreachable (io exception)").contains("does its certificate name this address");
    }

    @Test
    void otherCodesKeepTheAgentsOwnFirstLine() {
        String m = AgentErrors.describe(Status.FAILED_PRECONDITION.withDescription("snapshot restore failed: disk full\nmore").asRuntimeException(), AGENT);
        assertThat(m).isEqualTo("snapshot restore failed: disk full");
        assertThat(AgentErrors.describe(Status.DEADLINE_EXCEEDED.withDescription("deadline").asRuntimeException(), AGENT))
                .isEqualTo("agent " + AGENT + " did not answer in time (deadline)");
    }
}
