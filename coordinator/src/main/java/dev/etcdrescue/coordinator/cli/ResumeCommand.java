package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.engine.Journal;
import dev.etcdrescue.coordinator.engine.RecoveryOptions;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.report.RecoveryReport;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "resume", mixinStandardHelpOptions = true,
        description = {"Continues a recovery that was interrupted (coordinator killed, a host fixed after a failure).",
            "Phases the run's journal records as done are skipped; the others run again under the same operation id.",
            "Agents recognise their own operation's work (staged bytes, a finished restore, identical files, an",
            "active unit) and do not do it twice."},
        footer = {"", "Example:", "  etcd-rescue resume ~/.local/state/etcd-rescue/runs/rescue-20261125-101530-1f2e",
            "", "Exit codes as for recover."})
public final class ResumeCommand implements Callable<Integer> {
    @Parameters(paramLabel = "RUN_DIR", description = "The run's work dir, as recover printed it.")
    Path workDir;

    @Option(names = {"-o", "--output", "-w", "--write-out"}, defaultValue = "table", paramLabel = "FORMAT", description = "table or json.")
    InventoryOptions.OutputFormat writeOut;

    @Option(names = "--start-timeout", defaultValue = "120", paramLabel = "SECONDS", description = "As for recover.")
    long startTimeoutSeconds;

    @Option(names = "--verify-timeout", defaultValue = "120", paramLabel = "SECONDS", description = "As for recover.")
    long verifyTimeoutSeconds;

    @Override
    public Integer call() {
        Path dir = workDir.toAbsolutePath().normalize();
        Runs.requireDir(dir);
        Journal journal = Journal.open(dir);
        Journal.Header h = journal.header();
        ClusterPlan plan = Runs.planOf(journal, dir);
        RecoveryOptions options = RecoverCommand.options(dir, h.bumpRevision(), h.keepOld(), h.allowNoHashTrailer(),
                h.forceWithLeader(), h.fencePort(), h.rollbackOnFailure(), h.chunkSize(), startTimeoutSeconds, verifyTimeoutSeconds)
                // Journals from before the fence mode fenced whenever --fence-port asked.
                .withFence(h.fence() == null ? RecoveryOptions.FenceMode.ALWAYS : RecoverCommand.fenceMode(h.fence()));
        RecoveryReport report = Runs.recovery(plan).run(plan, options, journal, Runs.reporter(writeOut));
        return report.exitCode();
    }
}
