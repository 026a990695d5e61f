package dev.etcdrescue.coordinator.agent;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;

/** Failures as an agent sends them: a code, a message, and an ErrorInfo with the reason's name. */
final class AgentFailures {
    private AgentFailures() {}

    static StatusRuntimeException answered(Status.Code code, String reason, String message) {
        return answered(code, AgentError.DOMAIN, reason, message);
    }

    static StatusRuntimeException answered(Status.Code code, String domain, String reason, String message) {
        return StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder().setCode(code.value()).setMessage(message)
                .addDetails(Any.pack(ErrorInfo.newBuilder().setDomain(domain).setReason(reason).build())).build());
    }
}
