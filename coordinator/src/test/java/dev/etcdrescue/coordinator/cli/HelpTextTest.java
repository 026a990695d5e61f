package dev.etcdrescue.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/** What an operator reads in {@code --help} and types: rows of help stay whole, the same option has the same name. */
@Timeout(60)
class HelpTextTest {
    private final CommandLine root = EtcdRescueCommand.commandLine();

    @Test
    void everyDescriptionAndFooterLineOfEveryCommandIsPrintedUnbroken() {
        List<String> broken = new ArrayList<>();
        for (CommandLine command : commands(root)) {
            List<String> printed = command.getUsageMessage(CommandLine.Help.Ansi.OFF).lines().toList();
            CommandLine.Model.UsageMessageSpec usage = command.getCommandSpec().usageMessage();
            for (String line : concat(usage.header(), usage.description(), usage.footer())) {
                if (!line.isBlank() && !line.contains("%") && !printed.contains(line.stripTrailing())) {
                    broken.add(command.getCommandSpec().qualifiedName() + ": " + line);
                }
            }
        }
        assertThat(broken).as("lines wrapped or changed in the printed help").isEmpty();
    }

    @Test
    void recoversPhaseTableKeepsEachRowOnOneLine() {
        String help = root.getSubcommands().get("recover").getUsageMessage(CommandLine.Help.Ansi.OFF);

        assertThat(help.lines()).contains(
                "  preflight   reach every agent over mTLS, claim it, check tools, disk, ports, versions, the source",
                "  release     (fenced) members move to their planned client URLs, as many at once as keep a quorum,");
    }

    @Test
    void theCommandListGivesEachCommandAWholeSentence() {
        String help = root.getUsageMessage(CommandLine.Help.Ansi.OFF);

        assertThat(help.lines()).contains(
                "  plan            Prints every change 'recover' would make on every host, and changes nothing.",
                "  cleanup         Lists what recoveries and rollbacks left aside on every host; removes it only with --remove.");
        assertThat(help.lines().filter(l -> l.length() > EtcdRescueCommand.HELP_WIDTH)).isEmpty();
    }

    @Test
    void everyCommandThatReadsAnInventoryTakesItAsDashI() {
        List<String> without = new ArrayList<>();
        for (CommandLine command : commands(root)) {
            CommandLine.Model.OptionSpec inventory = command.getCommandSpec().findOption("--inventory");
            if (inventory != null && !List.of(inventory.names()).contains("-i")) {
                without.add(command.getCommandSpec().qualifiedName());
            }
        }
        assertThat(without).as("commands with --inventory but no -i").isEmpty();
    }

    @Test
    void everyCommandWithAnOutputFormatTakesKubectlsAndEtcdctlsNames() {
        List<String> lacking = new ArrayList<>();
        for (CommandLine command : commands(root)) {
            CommandLine.Model.OptionSpec format = command.getCommandSpec().findOption("--write-out");
            if (format == null) {
                format = command.getCommandSpec().findOption("--output");
            }
            if (format != null && !List.of(format.names()).containsAll(List.of("-o", "--output", "-w", "--write-out"))) {
                lacking.add(command.getCommandSpec().qualifiedName() + " " + List.of(format.names()));
            }
        }
        assertThat(lacking).isEmpty();
    }

    private static List<CommandLine> commands(CommandLine command) {
        List<CommandLine> all = new ArrayList<>(List.of(command));
        command.getSubcommands().values().stream().distinct().forEach(sub -> all.addAll(commands(sub)));
        return all;
    }

    private static List<String> concat(String[]... parts) {
        List<String> lines = new ArrayList<>();
        for (String[] part : parts) {
            lines.addAll(List.of(part));
        }
        return lines;
    }
}
