package dev.etcdrescue.agent;

import dev.etcdrescue.proto.v1.ErrorReason;
import io.grpc.Status;
import java.util.Optional;

/**
 * An expected failure of a request: carries the gRPC code the coordinator sees, a message that says
 * what to do and, where the caller may act on it, a specific {@link ErrorReason}; without one the
 * reason is the code's coarse one. {@link dev.etcdrescue.agent.rpc.StatusMapper} is the only place
 * that turns it into a {@link Status}.
 */
public final class AgentException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final Status.Code code;
    /** Null when the code's coarse reason fits (StatusMapper picks it). */
    private final ErrorReason reason;
    /** The request field the failure is about, when one is; Preflight turns it into a finding's field. */
    private final String field;

    public AgentException(Status.Code code, String message) {
        this(code, message, (String) null);
    }

    public AgentException(Status.Code code, String message, String field) {
        this(code, null, message, field);
    }

    private AgentException(Status.Code code, ErrorReason reason, String message, String field) {
        super(message);
        this.code = code;
        this.reason = reason;
        this.field = field;
    }

    public AgentException(Status.Code code, String message, Throwable cause) {
        this(code, null, message, cause);
    }

    public AgentException(Status.Code code, ErrorReason reason, String message) {
        this(code, reason, message, (Throwable) null);
    }

    public AgentException(Status.Code code, ErrorReason reason, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.reason = reason;
        this.field = null;
    }

    public Status.Code code() {
        return code;
    }

    public Optional<ErrorReason> reason() {
        return Optional.ofNullable(reason);
    }

    public Optional<String> field() {
        return Optional.ofNullable(field);
    }

    /** INVALID_ARGUMENT about one request field; the message should still name it. */
    public static AgentException invalidField(String field, String message) {
        return new AgentException(Status.Code.INVALID_ARGUMENT, message, field);
    }

    /** FAILED_PRECONDITION caused by one request field (e.g. an option the host's tool lacks). */
    public static AgentException unsupportedField(String field, String message) {
        return new AgentException(Status.Code.FAILED_PRECONDITION, ErrorReason.TOOL_UNSUPPORTED, message, field);
    }

    public static AgentException invalidArgument(String message) {
        return new AgentException(Status.Code.INVALID_ARGUMENT, message);
    }

    public static AgentException failedPrecondition(String message) {
        return new AgentException(Status.Code.FAILED_PRECONDITION, message);
    }

    /** FAILED_PRECONDITION with a reason the coordinator tells apart from "the host is not ready". */
    public static AgentException failedPrecondition(ErrorReason reason, String message) {
        return new AgentException(Status.Code.FAILED_PRECONDITION, reason, message);
    }

    public static AgentException alreadyExists(String message) {
        return new AgentException(Status.Code.ALREADY_EXISTS, message);
    }

    public static AgentException resourceExhausted(String message) {
        return new AgentException(Status.Code.RESOURCE_EXHAUSTED, message);
    }

    public static AgentException dataLoss(String message) {
        return new AgentException(Status.Code.DATA_LOSS, message);
    }

    /** PERMISSION_DENIED with the reason the coordinator tells it by. */
    public static AgentException permissionDenied(ErrorReason reason, String message) {
        return new AgentException(Status.Code.PERMISSION_DENIED, reason, message);
    }

    /** PERMISSION_DENIED for a relay whose grant does not hold. */
    public static AgentException relayRefused(String message) {
        return new AgentException(Status.Code.PERMISSION_DENIED, ErrorReason.RELAY_REFUSED, message);
    }

    public static AgentException internal(String message, Throwable cause) {
        return new AgentException(Status.Code.INTERNAL, message, cause);
    }

    public static AgentException unimplemented(String message) {
        return new AgentException(Status.Code.UNIMPLEMENTED, message);
    }
}
