package dev.etcdrescue.coordinator.cli;

import picocli.CommandLine.Command;

@Command(name = "recover", mixinStandardHelpOptions = true,
        description = "Recovers the clusters of an inventory: preflight, snapshot, distribute, restore, configure, start, verify, cut over.")
public final class RecoverCommand implements Runnable {
    @Override
    public void run() {
        throw new UnsupportedOperationException("not yet");
    }
}
