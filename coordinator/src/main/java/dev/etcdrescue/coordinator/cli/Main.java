package dev.etcdrescue.coordinator.cli;


/** Entry point of the {@code etcd-rescue} command. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (see {@link ExitCodes}); tests call this directly. */
    public static int run(String... args) {
        return EtcdRescueCommand.commandLine().execute(args);
    }
}
