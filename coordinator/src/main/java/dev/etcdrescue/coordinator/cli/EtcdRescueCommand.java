package dev.etcdrescue.coordinator.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(
        name = "etcd-rescue",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Brings an etcd v3 cluster back after it lost quorum: snapshots a survivor (or takes a backup file),",
            "streams it to the agent on every host, restores, configures and starts the new members, verifies",
            "the new cluster and cuts over, with one command."
        },
        subcommands = {RecoverCommand.class, PlanCommand.class, ResumeCommand.class, RollbackCommand.class, CleanupCommand.class, VerifyCommand.class,
            StatusCommand.class, SnapshotCommand.class, PkiCommand.class, CompletionCommand.class, CommandLine.HelpCommand.class})
public final class EtcdRescueCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
        throw new dev.etcdrescue.coordinator.UserException(ExitCodes.USAGE, "missing command: try 'etcd-rescue recover --help'");
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new EtcdRescueCommand());
        cl.setExecutionExceptionHandler(new UserErrorHandler());
        cl.setExitCodeExceptionMapper(UserErrorHandler::exitCodeOf);
        return cl;
    }
}
