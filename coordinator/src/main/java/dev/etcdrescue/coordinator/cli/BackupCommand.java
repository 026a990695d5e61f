package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "backup", mixinStandardHelpOptions = true,
        header = "Lists and checks the backups the agents take on their schedule, and takes one now.",
        description = {
            "The agents take backups themselves when agent.yaml has a backup: section: one per interval for",
            "each cluster, from a member that is not the leader, each checked against the member's own HashKV,",
            "stored zstd-compressed with a manifest the agent signs, and restored in drills (agent.yaml",
            "backup.drill_every, or 'backup drill'). Each backup is pushed by its taker to backup.copies peer",
            "agents (default 1), which read it back and hold it too. These commands ask the agents over mTLS.",
            ""
        },
        subcommands = {BackupList.class, BackupStatus.class, BackupNow.class, BackupVerify.class, BackupDrill.class, BackupPrune.class,
            CommandLine.HelpCommand.class},
        footer = {
            "",
            "Examples:",
            "  etcd-rescue backup list -i inventory.yaml",
            "  etcd-rescue backup status -i inventory.yaml --max-age PT1H    # for cron and alerting",
            "  etcd-rescue backup now -i inventory.yaml --host etcd-1",
            "  etcd-rescue backup verify -i inventory.yaml                  # every copy read back; 1 when the newest has no good one",
            "  etcd-rescue backup drill -i inventory.yaml --host etcd-1   # restore the newest into a throwaway etcd",
            "  etcd-rescue backup prune -i inventory.yaml --host etcd-1 --dry-run"
        })
public final class BackupCommand implements Runnable {
    @Override
    public void run() {
        throw new UserException(FailureKind.BAD_INPUT, "missing command: 'backup list', 'status', 'now', 'verify', 'drill' or 'prune'"
                + " (see 'etcd-rescue backup --help')");
    }
}
