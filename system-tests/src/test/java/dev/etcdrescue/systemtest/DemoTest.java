package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.systemtest.testbed.RunLeftovers;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code deploy/demo.sh} as a newcomer runs it (with {@code --no-build}: the reactor has just packaged what it
 * needs): the whole story must succeed, say so, stay well inside its time budget, and leave nothing running.
 */
class DemoTest {
    private static final Duration SANITY_BOUND = Duration.ofSeconds(300);
    private static final Pattern RUN_DIR = Pattern.compile("testbed run dir: (/var/lib/etcd-rescue-testbed/\\S+)");
    private static final Pattern WORK_DIR = Pattern.compile("files and logs in (/var/lib/etcd-rescue-demo/\\S+)");

    record Run(int exitCode, List<String> lines, Duration took) {
        String output() {
            return String.join("\n", lines);
        }

        String group(Pattern pattern) {
            Matcher m = pattern.matcher(output());
            assertThat(m.find()).as("output has " + pattern + "\n" + output()).isTrue();
            return m.group(1);
        }
    }

    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void recoversVerifiesReadsEveryKeyBackAndLeavesNothingRunning() throws Exception {
        Run run = demo(Duration.ofMinutes(7), "--no-build");
        System.out.printf("demo.sh took %d s%n", run.took().toSeconds());

        assertThat(run.exitCode()).as(run.output()).isZero();
        assertThat(run.lines()).as("every member has every key").filteredOn(l -> l.contains("of 1000 sample keys match"))
                .hasSize(5).allSatisfy(l -> assertThat(l).contains("1000 of 1000 sample keys match"));
        assertThat(run.output()).contains("all 1000 sample keys read back from all 5 members")
                .contains("RECOVERED: cluster lv-etcd-research-beta restored on 5 hosts and verified")
                .contains("demo finished: recovered, verified, every sample key read back");
        List<String> checks = run.lines().stream().filter(l -> l.matches("  (ok|FAIL) +.*")).toList();
        assertThat(checks).as("the verify checks").isNotEmpty().allSatisfy(l -> assertThat(l).startsWith("  ok "))
                .anySatisfy(l -> assertThat(l).contains("member list matches plan"))
                .anySatisfy(l -> assertThat(l).contains("hashkv equal"));
        assertThat(run.output()).as("the survivor was shown leaderless first").contains("etcdserver: no leader");
        assertThat(run.took()).as("a sanity bound; the budget is 3 minutes").isLessThan(SANITY_BOUND);

        Path runDir = Path.of(run.group(RUN_DIR));
        Path workDir = Path.of(run.group(WORK_DIR));
        String cgroupPrefix = "etcd-rescue-testbed-" + runDir.getFileName();
        assertThat(RunLeftovers.of(runDir, cgroupPrefix, List.of())).as("left of the testbed run").isEmpty();
        assertThat(processesMentioning(runDir.getFileName().toString())).as("processes of the run").isEmpty();
        assertThat(processesMentioning(workDir.toString())).as("processes of the demo's files").isEmpty();
        assertThat(workDir.resolve("logs/recover.log")).as("the logs stay").isRegularFile();
        assertThat(workDir.resolve("dist")).as("the unpacked distribution is removed").doesNotExist();
    }

    /** A machine check that fails (not root) stops the demo before it creates or starts anything. */
    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void refusesWithAReasonAndChangesNothingWhenTheMachineCannotRunIt() throws Exception {
        // A checkout in a dir only root may enter cannot show this: nobody could not even start the script.
        Assumptions.assumeTrue(new ProcessBuilder("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                "--", "test", "-x", Cli.projectRoot().resolve("deploy/demo.sh").toString()).start().waitFor() == 0,
                "user nobody cannot run " + Cli.projectRoot().resolve("deploy/demo.sh"));
        Set<String> demoRunsBefore = entries(Path.of("/var/lib/etcd-rescue-demo"));
        Set<String> testbedRunsBefore = entries(Path.of("/var/lib/etcd-rescue-testbed"));

        Run run = demoAs("nobody", Duration.ofSeconds(90), "--no-build");

        assertThat(run.exitCode()).as(run.output()).isEqualTo(3);
        assertThat(run.output()).contains("cannot run the demo yet; nothing was changed")
                .contains("not running as root").contains("what to do: run it as root");
        assertThat(entries(Path.of("/var/lib/etcd-rescue-demo"))).isEqualTo(demoRunsBefore);
        // The other test fork may boot its own testbed meanwhile: those runs have a live owner. A run the
        // refused demo had made would name the demo's shell, which has ended, as its owner.
        Path testbedRoot = Path.of("/var/lib/etcd-rescue-testbed");
        assertThat(entries(testbedRoot).stream().filter(r -> !testbedRunsBefore.contains(r))
                .filter(r -> ownerHasEnded(testbedRoot.resolve(r)))).as("testbed runs the demo left").isEmpty();
    }

    private static boolean ownerHasEnded(Path run) {
        try {
            long owner = Long.parseLong(Files.readString(run.resolve("owner.pid")).strip());
            return ProcessHandle.of(owner).map(p -> !p.isAlive()).orElse(true);
        } catch (java.nio.file.NoSuchFileException beingCreated) {
            return false;
        } catch (java.io.IOException | NumberFormatException e) {
            return true;
        }
    }

    @Test
    void helpExplainsAndBadArgumentsExitTwo() throws Exception {
        Run help = demo(Duration.ofSeconds(30), "--help");
        assertThat(help.exitCode()).isZero();
        assertThat(help.output()).contains("usage: deploy/demo.sh").contains("--no-build").contains("Exit codes");
        Run bad = demo(Duration.ofSeconds(30), "--keys", "many");
        assertThat(bad.exitCode()).as(bad.output()).isEqualTo(2);
    }

    private static Run demo(Duration timeout, String... args) throws Exception {
        return demoAs(null, timeout, args);
    }

    /** Runs demo.sh (as {@code user} through setpriv, when given), echoing its output as it comes. */
    private static Run demoAs(String user, Duration timeout, String... args) throws Exception {
        List<String> argv = new ArrayList<>();
        if (user != null) {
            argv.addAll(List.of("setpriv", "--reuid=" + user, "--regid=nogroup", "--clear-groups", "--"));
        }
        argv.add(Cli.projectRoot().resolve("deploy/demo.sh").toString());
        argv.addAll(List.of(args));
        long start = System.nanoTime();
        Process process = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    System.out.println("demo| " + line);
                    lines.add(line);
                }
            } catch (IOException e) {
                lines.add("<output unreadable: " + e + ">");
            }
        });
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            // TERM first: the demo's trap tears its hosts down.
            process.destroy();
            if (!process.waitFor(90, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
            throw new AssertionError("demo.sh did not end within " + timeout.toSeconds() + " s:\n"
                    + String.join("\n", lines));
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        reader.get(30, TimeUnit.SECONDS);
        return new Run(process.exitValue(), List.copyOf(lines), took);
    }

    /** pgrep -af: every process whose command line holds {@code text}. */
    private static List<String> processesMentioning(String text) throws Exception {
        Process pgrep = new ProcessBuilder("pgrep", "-af", "--", text).redirectErrorStream(true).start();
        String out = new String(pgrep.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        pgrep.waitFor(30, TimeUnit.SECONDS);
        return out.lines().filter(l -> !l.isBlank()).toList();
    }

    private static Set<String> entries(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return Set.of();
        }
        try (Stream<Path> list = Files.list(dir)) {
            return list.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }
}
