package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.engine.Journal;
import dev.etcdrescue.coordinator.engine.Recovery;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.member.ReplaceJournal;
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
            "Of a replace-member run: removes the learner it added (never a promoted member: that is refused), stops",
            "and disables the new unit and moves its files and the learner's data dir aside; the old member stays",
            "fenced (units stopped and disabled, data dir aside) once etcd has removed it, and stays removed.",
            "Asks for confirmation on a terminal; without one it needs --yes (it never waits for an answer)."},
        footer = {"", "Examples:", "  etcd-rescue rollback ~/.local/state/etcd-rescue/runs/rescue-20261125-101530-1f2e --yes",
            "  etcd-rescue rollback ~/.local/state/etcd-rescue/runs/replace-20261125-101530-1f2e --yes",
            "", "Exit codes: 0 rolled back, 1 a host failed or the cluster is not back (see its line), 2 bad input or not",
            "confirmed, 3 refused, nothing changed (a replace-member whose new member is already promoted)."})
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
        if (ReplaceJournal.isRun(dir)) {
            ReplaceMemberCommand.Run run = ReplaceMemberCommand.run(dir);
            confirm("Roll back replace-member " + run.member().etcdName() + " (operation " + run.journal().header().operationId()
                    + ") of cluster " + run.plan().name() + "? [y/N] ", "rollback removes the learner of a replace-member run");
            return ReplaceMemberCommand.rollback(run, dir);
        }
        Journal journal = Journal.open(dir);
        ClusterPlan plan = Runs.planOf(journal, dir);
        confirm(String.format("Roll back operation %s of cluster %s on %d hosts? [y/N] ", journal.header().operationId(), plan.name(),
                plan.members().size()), "rollback changes " + plan.members().size() + " hosts");
        Recovery recovery = Runs.recovery(plan);
        return recovery.rollback(plan, journal, dir, Runs.reporter(writeOut)).exitCode();
    }

    private void confirm(String question, String what) {
        if (yes) {
            return;
        }
        Console console = System.console();
        if (console == null) {
            throw new UserException(FailureKind.BAD_INPUT, what + "; without a terminal to confirm on, pass --yes");
        }
        String answer = console.readLine("%s", question);
        if (answer == null || !answer.strip().equalsIgnoreCase("y")) {
            throw new UserException(FailureKind.BAD_INPUT, "not confirmed: nothing was changed");
        }
    }
}
