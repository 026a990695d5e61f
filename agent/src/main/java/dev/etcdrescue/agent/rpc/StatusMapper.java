package dev.etcdrescue.agent.rpc;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.proto.v1.ErrorReason;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where exceptions become gRPC statuses. Expected failures carry their own code;
 * anything else becomes INTERNAL with a short message, and its stack trace goes to the agent's log
 * only, never into the trailers. Every status carries a {@code google.rpc.ErrorInfo} (domain
 * {@value #DOMAIN}, reason an {@link ErrorReason} name) for the coordinator to act on, so that no
 * client ever has to read the message.
 */
public final class StatusMapper {
    public static final String DOMAIN = "etcd-rescue.dev";
    private static final Logger log = LoggerFactory.getLogger(StatusMapper.class);

    /** A status and the reason it is sent with. */
    public record Mapped(Status status, ErrorReason reason) {
        public StatusRuntimeException toException() {
            return StatusMapper.toException(status, reason, new Metadata());
        }
    }

    private StatusMapper() {}

    public static Mapped map(Throwable failure) {
        Throwable t = unwrap(failure);
        if (t instanceof AgentException e) {
            return new Mapped(Status.fromCode(e.code()).withDescription(e.getMessage()),
                    e.reason().orElseGet(() -> coarse(e.code())));
        }
        if (t instanceof StatusRuntimeException e) {
            return passThrough(e.getStatus());
        }
        if (t instanceof StatusException e) {
            return passThrough(e.getStatus());
        }
        if (isDiskFull(t)) {
            return new Mapped(Status.RESOURCE_EXHAUSTED.withDescription("no space left on the device holding "
                    + (t instanceof FileSystemException f && f.getFile() != null ? f.getFile() : "the file being written")
                    + " (" + t.getMessage() + "): free disk space on this host, then resume; what was written so far"
                    + " stays in the staging dir or is moved aside, never where etcd or systemd read"), ErrorReason.NO_SPACE);
        }
        if (t instanceof RejectedExecutionException) {
            return new Mapped(Status.RESOURCE_EXHAUSTED.withDescription(
                    "the agent is busy with other long-running work: retry in a moment"), ErrorReason.AGENT_BUSY);
        }
        log.error("unexpected failure while serving a request", t);
        return new Mapped(Status.INTERNAL.withDescription("internal error in the agent ("
                + t.getClass().getSimpleName() + "): see the agent's journal for details"), ErrorReason.INTERNAL_ERROR);
    }

    public static StatusRuntimeException toException(Throwable failure) {
        return map(failure).toException();
    }

    /** {@code status} with {@code reason} in its details, plus the caller's own {@code trailers}. */
    public static StatusRuntimeException toException(Status status, ErrorReason reason, Metadata trailers) {
        ErrorInfo info = ErrorInfo.newBuilder().setDomain(DOMAIN).setReason(reason.name()).build();
        com.google.rpc.Status proto = com.google.rpc.Status.newBuilder().setCode(status.getCode().value())
                .setMessage(status.getDescription() == null ? "" : status.getDescription())
                .addDetails(Any.pack(info)).build();
        return StatusProto.toStatusRuntimeException(proto, trailers);
    }

    /** One short phrase for the audit log and the status page: "CODE: message". */
    /** The ErrorReason name a peer agent's status carries in its details; empty when it carries none. */
    public static String reasonOf(Throwable failure) {
        com.google.rpc.Status proto = StatusProto.fromThrowable(failure);
        if (proto == null) {
            return "";
        }
        for (Any detail : proto.getDetailsList()) {
            if (detail.is(ErrorInfo.class)) {
                try {
                    return detail.unpack(ErrorInfo.class).getReason();
                } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                    return "";
                }
            }
        }
        return "";
    }

    public static String describe(Throwable failure) {
        Status s = map(failure).status();
        return s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
    }

    /**
     * The reason of a failure that names none: the coarse meaning of its code. A specific reason
     * is given where the thrower knows more (AgentException's reason).
     */
    static ErrorReason coarse(Status.Code code) {
        return switch (code) {
            case INVALID_ARGUMENT, OUT_OF_RANGE -> ErrorReason.INVALID_REQUEST;
            case FAILED_PRECONDITION, NOT_FOUND -> ErrorReason.HOST_NOT_READY;
            case ALREADY_EXISTS -> ErrorReason.TRANSFER_ALREADY_STAGED;
            case DATA_LOSS -> ErrorReason.DIGEST_MISMATCH;
            case RESOURCE_EXHAUSTED -> ErrorReason.NO_SPACE;
            case PERMISSION_DENIED, UNAUTHENTICATED -> ErrorReason.NOT_AUTHORIZED;
            case UNIMPLEMENTED -> ErrorReason.NOT_SUPPORTED;
            case CANCELLED, DEADLINE_EXCEEDED -> ErrorReason.CANCELLED;
            default -> ErrorReason.INTERNAL_ERROR;
        };
    }

    /** ENOSPC as the JDK reports it: "No space left on device", from write(2) or from a file operation. */
    static boolean isDiskFull(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof IOException && c.getMessage() != null && c.getMessage().contains("No space left on device")) {
                return true;
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return false;
    }

    /** A status built elsewhere (gRPC's own, or thrown by the agent's stream code): code and text, no cause or trailers. */
    private static Mapped passThrough(Status status) {
        return new Mapped(Status.fromCode(status.getCode()).withDescription(status.getDescription()), coarse(status.getCode()));
    }

    private static Throwable unwrap(Throwable t) {
        Throwable current = t;
        while ((current instanceof CompletionException || current instanceof ExecutionException)
                && current.getCause() != null) {
            current = current.getCause();
        }
        return current;
    }
}
