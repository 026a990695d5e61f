package dev.etcdrescue.agent;

import io.grpc.Status;
import java.util.Optional;

/**
 * An expected failure of a request: carries the gRPC code the coordinator sees and a message that
 * says what to do. {@link dev.etcdrescue.agent.rpc.StatusMapper} is the only place that turns it
 * into a {@link Status}.
 */
public final class AgentException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final Status.Code code;
    /** The request field the failure is about, when one is; Preflight turns it into a finding's field. */
    private final String field;

    public AgentException(Status.Code code, String message) {
        this(code, message, (String) null);
    }

    public AgentException(Status.Code code, String message, String field) {
        super(message);
        this.code = code;
        this.field = field;
    }

    public AgentException(Status.Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.field = null;
    }

    public Status.Code code() {
        return code;
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
        return new AgentException(Status.Code.FAILED_PRECONDITION, message, field);
    }

    public static AgentException invalidArgument(String message) {
        return new AgentException(Status.Code.INVALID_ARGUMENT, message);
    }

    public static AgentException failedPrecondition(String message) {
        return new AgentException(Status.Code.FAILED_PRECONDITION, message);
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

    public static AgentException permissionDenied(String message) {
        return new AgentException(Status.Code.PERMISSION_DENIED, message);
    }

    public static AgentException internal(String message, Throwable cause) {
        return new AgentException(Status.Code.INTERNAL, message, cause);
    }

    public static AgentException unimplemented(String message) {
        return new AgentException(Status.Code.UNIMPLEMENTED, message);
    }
}
