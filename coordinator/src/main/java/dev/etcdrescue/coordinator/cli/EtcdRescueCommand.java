package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
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
        subcommands = {RecoverCommand.class, PlanCommand.class, DoctorCommand.class, ReplaceMemberCommand.class,
            ResumeCommand.class, RollbackCommand.class, CleanupCommand.class, VerifyCommand.class,
            StatusCommand.class, SnapshotCommand.class, BackupCommand.class, PkiCommand.class, CompletionCommand.class,
            CommandLine.HelpCommand.class})
public final class EtcdRescueCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
        throw new UserException(FailureKind.BAD_INPUT, "missing command: try 'etcd-rescue recover --help'");
    }

    /**
     * The widest line of any command's help. Its phase tables, file lists and examples are laid out
     * in rows of up to this many characters; at picocli's default of 80 a row's tail would wrap to
     * column 0. etcdctl's and kubectl's help are as wide.
     */
    static final int HELP_WIDTH = 120;

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new EtcdRescueCommand());
        cl.setUsageHelpWidth(HELP_WIDTH);
        cl.setExecutionExceptionHandler(new UserErrorHandler());
        cl.setExitCodeExceptionMapper(UserErrorHandler::exitCodeOf);
        return cl;
    }
}
