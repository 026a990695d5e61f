package dev.etcdrescue.coordinator.cli;

import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "completion", mixinStandardHelpOptions = true,
        description = {"Prints a bash completion script: source <(etcd-rescue completion)",
            "It completes commands, options and file arguments; zsh can use it through",
            "bashcompinit."},
        footer = {"", "Examples:",
            "  source <(etcd-rescue completion)             # in this shell",
            "  etcd-rescue completion > /etc/bash_completion.d/etcd-rescue"})
public final class CompletionCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        // Generated from the live command tree, so it always knows every subcommand and option of this build.
        String script = AutoComplete.bash(spec.root().name(), spec.root().commandLine());
        spec.commandLine().getOut().print(script);
        spec.commandLine().getOut().flush();
        return ExitCodes.OK;
    }
}
