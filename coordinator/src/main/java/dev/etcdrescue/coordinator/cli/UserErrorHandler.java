package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.failure.UserException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/** The one place where exceptions become exit codes and messages: no stack trace for user errors. */
final class UserErrorHandler implements CommandLine.IExecutionExceptionHandler {
    private static final Logger log = LoggerFactory.getLogger(UserErrorHandler.class);

    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parseResult) {
        if (ex instanceof CommandLine.ParameterException pe) {
            cl.getErr().println("etcd-rescue: " + pe.getMessage());
            return ExitCodes.USAGE;
        }
        if (ex instanceof UserException user) {
            cl.getErr().println("etcd-rescue: " + user.getMessage());
            return ExitCodes.of(user.kind());
        }
        log.error("internal error", ex);
        cl.getErr().println("etcd-rescue: internal error: " + ex
                + " (this is a bug; the log has the stack trace)");
        return ExitCodes.INTERNAL;
    }

    static int exitCodeOf(Throwable t) {
        if (t instanceof CommandLine.ParameterException) {
            return ExitCodes.USAGE;
        }
        return t instanceof UserException user ? ExitCodes.of(user.kind()) : ExitCodes.INTERNAL;
    }
}
