package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.engine.Journal;
import dev.etcdrescue.coordinator.engine.Recovery;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import java.io.Console;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "rollback", mixinStandardHelpOptions = true,
        description = {"Undoes a recovery on every host, from each agent's journal of what that operation changed.",
            "It stops and disables the new unit, moves what the attempt created aside (never deletes it), puts back",
            "what it had moved aside (data dir, env file, unit), and starts the old unit again where it ran.",
            "Asks for confirmation on a terminal; without one it needs --yes (it never waits for an answer)."},
        footer = {"", "Example:", "  etcd-rescue rollback ~/.local/state/etcd-rescue/runs/rescue-20261125-101530-1f2e --yes",
            "", "Exit codes: 0 rolled back, 1 a host failed (see its line), 2 bad input or not confirmed."})
public final class RollbackCommand implements Callable<Integer> {
    @Parameters(paramLabel = "RUN_DIR", description = "The run's work dir, as recover printed it.")
    Path workDir;

    @Option(names = {"-y", "--yes"}, description = "Do not ask.")
    boolean yes;

    @Option(names = {"-o", "--output", "-w", "--write-out"}, defaultValue = "table", paramLabel = "FORMAT", description = "table or json.")
    InventoryOptions.OutputFormat writeOut;

    @Override
    public Integer call() throws Exception {
        Path dir = workDir.toAbsolutePath().normalize();
        Runs.requireDir(dir);
        Journal journal = Journal.open(dir);
        ClusterPlan plan = Runs.planOf(journal, dir);
        if (!yes) {
            Console console = System.console();
            if (console == null) {
                throw new UserException(FailureKind.BAD_INPUT, "rollback changes " + plan.members().size()
                        + " hosts; without a terminal to confirm on, pass --yes");
            }
            String answer = console.readLine("Roll back operation %s of cluster %s on %d hosts? [y/N] ",
                    journal.header().operationId(), plan.name(), plan.members().size());
            if (answer == null || !answer.strip().equalsIgnoreCase("y")) {
                throw new UserException(FailureKind.BAD_INPUT, "not confirmed: nothing was changed");
            }
        }
        Recovery recovery = Runs.recovery(plan);
        return recovery.rollback(plan, journal, dir, Runs.reporter(writeOut)).exitCode();
    }
}
