package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.engine.Journal;
import dev.etcdrescue.coordinator.engine.RecoveryOptions;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.report.RecoveryReport;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "resume", mixinStandardHelpOptions = true,
        description = {"Continues an interrupted recovery or replace-member run where it stopped.",
            "(A coordinator killed, a host fixed after a failure.)",
            "Phases the run's journal records as done are skipped; the others run again under the same operation id,",
            "with the options the run began with (distribution, fence, --allow-v2-loss, --yes...).",
            "Agents recognise their own operation's work (staged bytes, a finished restore, identical files, an",
            "active unit) and do not do it twice."},
        footer = {"", "Example:", "  etcd-rescue resume ~/.local/state/etcd-rescue/runs/rescue-20261125-101530-1f2e",
            "", "Exit codes as for recover."})
public final class ResumeCommand implements Callable<Integer> {
    @Parameters(paramLabel = "RUN_DIR", description = "The run's work dir, as recover printed it.")
    Path workDir;

    @Option(names = {"-o", "--output", "-w", "--write-out"}, defaultValue = "table", paramLabel = "FORMAT", description = "table or json.")
    InventoryOptions.OutputFormat writeOut;

    @Option(names = "--start-timeout", paramLabel = "SECONDS",
            description = "How long the new members get to become active (default: the run's own).")
    Long startTimeoutSeconds;

    @Option(names = "--verify-timeout", paramLabel = "SECONDS",
            description = "How long verify waits for every member to be healthy (default: the run's own).")
    Long verifyTimeoutSeconds;

    @Override
    public Integer call() {
        Path dir = workDir.toAbsolutePath().normalize();
        Runs.requireDir(dir);
        if (dev.etcdrescue.coordinator.member.ReplaceJournal.isRun(dir)) {
            try {
                return ReplaceMemberCommand.resume(dir);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return ExitCodes.FAILED;
            }
        }
        Journal journal = Journal.open(dir);
        ClusterPlan plan = Runs.planOf(journal, dir);
        RecoveryOptions options = options(journal.header(), startTimeoutSeconds, verifyTimeoutSeconds);
        RecoveryReport report = Runs.recovery(plan).run(plan, options, journal, Runs.reporter(writeOut));
        return report.exitCode();
    }

    /** The options the run began with; only the timeouts may be given anew (a slow disk found on the way). */
    static RecoveryOptions options(Journal.Header header, Long startTimeoutSeconds, Long verifyTimeoutSeconds) {
        RecoveryOptions journalled = header.options();
        return journalled.withTimeouts(
                startTimeoutSeconds == null ? journalled.startTimeout() : Duration.ofSeconds(startTimeoutSeconds),
                verifyTimeoutSeconds == null ? journalled.verifyTimeout() : Duration.ofSeconds(verifyTimeoutSeconds));
    }
}
