package dev.etcdrescue.coordinator.agent;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.ErrorInfo;
import dev.etcdrescue.proto.v1.ErrorReason;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.security.cert.CertificateException;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * Reads an agent call's failure: its code, the agent's {@link ErrorReason} from the status details
 * (a {@code google.rpc.ErrorInfo} of domain {@value #DOMAIN}), and a sentence that says what to do.
 * Decisions use the code and the reason only; the message is another process's prose, for people.
 */
public final class AgentError {
    /** The ErrorInfo domain of etcd-rescue's agents (the agent's StatusMapper sends it). */
    public static final String DOMAIN = "etcd-rescue.dev";

    private AgentError() {}

    /** The gRPC code of the failure inside {@code t}; UNKNOWN when it is not a gRPC failure. */
    public static Status.Code code(Throwable t) {
        return Status.fromThrowable(t).getCode();
    }

    /**
     * The reason the agent gave; empty when the failure did not come from an agent's answer (the
     * connection failed, the deadline passed here). A reason this build does not know is UNRECOGNIZED.
     */
    public static Optional<ErrorReason> reason(Throwable t) {
        com.google.rpc.Status details = StatusProto.fromThrowable(t);
        if (details == null) {
            return Optional.empty();
        }
        for (Any any : details.getDetailsList()) {
            if (any.is(ErrorInfo.class)) {
                ErrorInfo info = unpack(any);
                if (info != null && info.getDomain().equals(DOMAIN)) {
                    return Optional.of(known(info.getReason()));
                }
            }
        }
        return Optional.empty();
    }

    /** The connection to the agent failed or broke: UNAVAILABLE that the agent itself did not send. */
    public static boolean transport(Throwable t) {
        return code(t) == Status.Code.UNAVAILABLE && reason(t).isEmpty();
    }

    /** One line for the operator: the agent's own first line, or what to check when there was no answer. */
    public static String describe(Throwable t, String agent) {
        if (!isGrpc(t)) {
            return t.getMessage() == null ? t.toString() : t.getMessage();
        }
        Status s = Status.fromThrowable(t);
        String detail = s.getDescription() == null ? "" : s.getDescription().lines().findFirst().orElse("");
        if (transport(t)) {
            // gRPC attaches the transport's exception when connecting failed; a connection that was up
            // and then closed (GOAWAY, reset, the agent's process gone) comes without one.
            if (s.getCause() == null) {
                return "connection to agent " + agent + " lost during the call (" + detail + "): the agent may have restarted"
                        + " (journalctl -u etcd-rescue-agent on that host); resume repeats the step safely";
            }
            return "agent " + agent + " unreachable (" + tlsCause(s.getCause()).or(() -> rootMessage(s.getCause())).orElse(detail)
                    + "): is etcd-rescue-agent running there, does its certificate name this address, and is it from the fleet CA?";
        }
        return switch (s.getCode()) {
            case DEADLINE_EXCEEDED -> "agent " + agent + " did not answer in time (" + detail + ")";
            case PERMISSION_DENIED, UNAUTHENTICATED -> "agent " + agent + " refused this coordinator: " + detail;
            default -> detail.isEmpty() ? s.getCode().toString() : detail;
        };
    }

    private static boolean isGrpc(Throwable t) {
        for (Throwable c = t; c != null && c.getCause() != c; c = c.getCause()) {
            if (c instanceof StatusRuntimeException || c instanceof StatusException) {
                return true;
            }
        }
        return false;
    }

    /** The transport's own words, from the deepest cause that has any ("Connection refused: /127.0.0.2:7443"). */
    private static Optional<String> rootMessage(Throwable t) {
        String found = null;
        for (Throwable c = t; c != null && c.getCause() != c; c = c.getCause()) {
            if (c.getMessage() != null) {
                found = c.getMessage();
            }
        }
        return Optional.ofNullable(found);
    }

    /** The deepest TLS or certificate message: "No subject alternative names matching IP address ..." says what is wrong. */
    private static Optional<String> tlsCause(Throwable t) {
        String found = null;
        for (Throwable c = t; c != null && c.getCause() != c; c = c.getCause()) {
            if ((c instanceof SSLException || c instanceof CertificateException) && c.getMessage() != null) {
                found = c.getMessage();
            }
        }
        return Optional.ofNullable(found);
    }

    private static ErrorInfo unpack(Any any) {
        try {
            return any.unpack(ErrorInfo.class);
        } catch (InvalidProtocolBufferException e) {
            return null;
        }
    }

    private static ErrorReason known(String name) {
        try {
            return ErrorReason.valueOf(name);
        } catch (IllegalArgumentException e) {
            return ErrorReason.UNRECOGNIZED;
        }
    }
}
