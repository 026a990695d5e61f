package dev.etcdrescue.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class CompletionAndRolloutOptionsTest {
    @TempDir Path tmp;
    @RegisterExtension
    final StandardStreams printed = new StandardStreams();

    @Test
    void completionPrintsABashScriptThatKnowsTheCommandsAndOptions() {
        assertThat(Main.run("completion")).isZero();
        String script = printed.out();
        assertThat(script).startsWith("#!/usr/bin/env bash").contains("complete -F").contains("recover").contains("status")
                .contains("--serial").contains("--max-fail-percentage");
        assertThat(printed.err()).isEmpty();
    }

    @Test
    void recoverHelpDocumentsTheRolloutAndItsExitCodes() {
        assertThat(Main.run("recover", "--help")).isZero();
        // Help text wraps at the terminal width: compare it as one line.
        String help = printed.out().replaceAll("\\s+", " ");
        assertThat(help).contains("--serial=N|P%").contains("--max-fail-percentage=P").contains("more than P% of the clusters failed")
                .contains("first failed cluster in inventory order").contains("\"stoppedAfterBatch\"");
        assertThat(printed.err()).doesNotContain("WARN");
    }

    @Test
    void badRolloutOptionsAreBadInput() throws Exception {
        Path inventory = Files.writeString(tmp.resolve("i.yaml"), """
                all:
                  vars:
                    tls_dir: %s
                    snapshot_file: %s
                    cluster_token: c-restored
                  children:
                    c:
                      vars:
                        cluster_token: c-restored
                      hosts:
                        node-a:
                          address: 127.0.0.1
                """.formatted(tmp, tmp.resolve("backup.db")));
        assertThat(Main.run("recover", "-i", inventory.toString(), "--serial", "0")).isEqualTo(ExitCodes.USAGE);
        assertThat(Main.run("recover", "-i", inventory.toString(), "--serial", "x%")).isEqualTo(ExitCodes.USAGE);
        assertThat(Main.run("recover", "-i", inventory.toString(), "--max-fail-percentage", "101")).isEqualTo(ExitCodes.USAGE);
        assertThat(printed.err()).contains("--serial must be at least 1").contains("--max-fail-percentage must lie in 0..100");
    }
}
