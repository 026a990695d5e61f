package dev.etcdrescue.coordinator.cli;

import picocli.CommandLine.Command;

@Command(name = "pki", mixinStandardHelpOptions = true,
        description = "Creates the fleet CA and issues the coordinator's and the agents' certificates.")
public final class PkiCommand {
}
