package dev.etcdrescue.agent.rpc;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.rpc.ErrorInfo;
import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.proto.v1.ErrorReason;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.io.IOException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Every status the agent sends carries one ErrorInfo with its reason; the message stays for the operator. */
@Timeout(30)
class StatusMapperTest {
    @Test
    void aSpecificReasonTravelsInTheDetails() {
        StatusRuntimeException e = StatusMapper.toException(new CompletionException(
                AgentException.failedPrecondition(ErrorReason.TRANSFER_STILL_OPEN, "an upload of transfer t is still open")));

        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(e.getStatus().getDescription()).isEqualTo("an upload of transfer t is still open");
        assertThat(info(e).getDomain()).isEqualTo("etcd-rescue.dev");
        assertThat(info(e).getReason()).isEqualTo("TRANSFER_STILL_OPEN");
    }

    @Test
    void withoutAReasonTheCodesCoarseOneIsSent() {
        assertThat(info(StatusMapper.toException(AgentException.invalidField("member.name", "bad"))).getReason())
                .isEqualTo("INVALID_REQUEST");
        assertThat(info(StatusMapper.toException(AgentException.failedPrecondition("no such dir"))).getReason())
                .isEqualTo("HOST_NOT_READY");
        assertThat(info(StatusMapper.toException(Status.CANCELLED.asRuntimeException())).getReason()).isEqualTo("CANCELLED");
    }

    @Test
    void aFullDiskAndABusyAgentAreToldApart() {
        StatusRuntimeException full = StatusMapper.toException(new IOException("No space left on device"));
        StatusRuntimeException busy = StatusMapper.toException(new RejectedExecutionException("queue full"));

        assertThat(full.getStatus().getCode()).isEqualTo(busy.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(info(full).getReason()).isEqualTo("NO_SPACE");
        assertThat(info(busy).getReason()).isEqualTo("AGENT_BUSY");
    }

    @Test
    void theUnexpectedIsInternalWithoutItsStackTrace() {
        StatusRuntimeException e = StatusMapper.toException(new IllegalStateException("secret detail"));

        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
        assertThat(e.getStatus().getDescription()).doesNotContain("secret detail");
        assertThat(info(e).getReason()).isEqualTo("INTERNAL_ERROR");
    }

    @Test
    void theCallersTrailersStay() {
        Metadata trailers = new Metadata();
        Metadata.Key<String> hop = Metadata.Key.of("etcd-rescue-relay-failed-hop", Metadata.ASCII_STRING_MARSHALLER);
        trailers.put(hop, "127.0.0.1:7443");

        StatusRuntimeException e = StatusMapper.toException(Status.ABORTED.withDescription("relay failed"),
                ErrorReason.RELAY_HOP_FAILED, trailers);

        assertThat(e.getTrailers().get(hop)).isEqualTo("127.0.0.1:7443");
        assertThat(info(e).getReason()).isEqualTo("RELAY_HOP_FAILED");
    }

    private static ErrorInfo info(StatusRuntimeException e) {
        com.google.rpc.Status status = StatusProto.fromThrowable(e);
        assertThat(status).as("status details").isNotNull();
        assertThat(status.getDetailsList()).hasSize(1);
        try {
            return status.getDetails(0).unpack(ErrorInfo.class);
        } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
            throw new AssertionError(ex);
        }
    }
}
