package dev.etcdrescue.agent.rpc;

import dev.etcdrescue.agent.AgentException;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
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
 * only, never into the trailers.
 */
public final class StatusMapper {
    private static final Logger log = LoggerFactory.getLogger(StatusMapper.class);

    private StatusMapper() {}

    public static Status toStatus(Throwable failure) {
        Throwable t = unwrap(failure);
        if (t instanceof AgentException e) {
            return Status.fromCode(e.code()).withDescription(e.getMessage());
        }
        if (t instanceof StatusRuntimeException e) {
            return stripCause(e.getStatus());
        }
        if (t instanceof StatusException e) {
            return stripCause(e.getStatus());
        }
        if (isDiskFull(t)) {
            return Status.RESOURCE_EXHAUSTED.withDescription("no space left on the device holding "
                    + (t instanceof FileSystemException f && f.getFile() != null ? f.getFile() : "the file being written")
                    + " (" + t.getMessage() + "): free disk space on this host, then resume; what was written so far"
                    + " stays in the staging dir or is moved aside, never where etcd or systemd read");
        }
        if (t instanceof RejectedExecutionException) {
            return Status.RESOURCE_EXHAUSTED.withDescription(
                    "the agent is busy with other long-running work: retry in a moment");
        }
        log.error("unexpected failure while serving a request", t);
        return Status.INTERNAL.withDescription("internal error in the agent ("
                + t.getClass().getSimpleName() + "): see the agent's journal for details");
    }

    public static StatusRuntimeException toException(Throwable failure) {
        return toStatus(failure).asRuntimeException();
    }

    /** One short phrase for the audit log and the status page: "OK" or "CODE: message". */
    public static String describe(Throwable failure) {
        Status s = toStatus(failure);
        return s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
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

    private static Status stripCause(Status status) {
        return Status.fromCode(status.getCode()).withDescription(status.getDescription());
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
