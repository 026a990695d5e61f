package dev.etcdrescue.coordinator.agent;

import static dev.etcdrescue.coordinator.agent.AgentFailures.answered;
import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.proto.v1.ErrorReason;
import io.grpc.Status;
import io.grpc.Status.Code;
import java.io.IOException;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class AgentErrorTest {
    private static final String AGENT = "10.0.0.5:7443";

    @Test
    void theReasonComesFromTheDetailsWhereverTheFailureIsWrapped() {
        var sent = answered(Code.FAILED_PRECONDITION, "CLAIMED_BY_OTHER", "this agent is claimed by operation x");
        assertThat(AgentError.reason(sent)).contains(ErrorReason.CLAIMED_BY_OTHER);
        assertThat(AgentError.reason(new ExecutionException(sent))).contains(ErrorReason.CLAIMED_BY_OTHER);
        assertThat(AgentError.code(new ExecutionException(sent))).isEqualTo(Code.FAILED_PRECONDITION);
    }

    @Test
    void noDetailsOrAnotherDomainIsNoReason() {
        assertThat(AgentError.reason(Status.FAILED_PRECONDITION.withDescription("claimed by operation x").asRuntimeException()))
                .isEmpty();
        assertThat(AgentError.reason(answered(Code.FAILED_PRECONDITION, "googleapis.com", "CLAIMED_BY_OTHER", "x"))).isEmpty();
        assertThat(AgentError.reason(new IllegalStateException("bug"))).isEmpty();
    }

    @Test
    void aReasonThisBuildDoesNotKnowIsUnrecognized() {
        assertThat(AgentError.reason(answered(Code.FAILED_PRECONDITION, "SOMETHING_NEW", "x"))).contains(ErrorReason.UNRECOGNIZED);
    }

    @Test
    void onlyUnavailableWithoutAnAgentsReasonIsATransportFailure() {
        assertThat(AgentError.transport(Status.UNAVAILABLE.asRuntimeException())).isTrue();
        assertThat(AgentError.transport(answered(Code.UNAVAILABLE, "INTERNAL_ERROR", "x"))).isFalse();
        assertThat(AgentError.transport(Status.DEADLINE_EXCEEDED.asRuntimeException())).isFalse();
    }

    @Test
    void aConnectionLostDuringACallSaysSoAndPointsAtTheAgentsJournalNotAtCertificates() {
        String m = AgentError.describe(Status.UNAVAILABLE.withDescription("Network closed for unknown reason").asRuntimeException(), AGENT);
        assertThat(m).startsWith("connection to agent " + AGENT + " lost during the call").contains("journalctl -u etcd-rescue-agent")
                .doesNotContain("certificate");
    }

    @Test
    void anAgentThatCannotBeReachedAtAllGetsTheConnectionHint() {
        String m = AgentError.describe(Status.UNAVAILABLE.withDescription("io exception").withCause(new IOException("Connection refused"))
                .asRuntimeException(), AGENT);
        assertThat(m).startsWith("agent " + AGENT + " unreachable (Connection refused)").contains("does its certificate name this address");
    }

    @Test
    void otherCodesKeepTheAgentsOwnFirstLine() {
        String m = AgentError.describe(answered(Code.FAILED_PRECONDITION, "RESTORE_FAILED", "snapshot restore failed: disk full\nmore"),
                AGENT);
        assertThat(m).isEqualTo("snapshot restore failed: disk full");
        assertThat(AgentError.describe(Status.DEADLINE_EXCEEDED.withDescription("deadline").asRuntimeException(), AGENT))
                .isEqualTo("agent " + AGENT + " did not answer in time (deadline)");
        assertThat(AgentError.describe(new IllegalStateException("not grpc"), AGENT)).isEqualTo("not grpc");
    }
}
