package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * {@code etcd-rescue ARGS} in the background; when a line of its output matches {@code trigger},
 * {@code action} runs once (the fault), and the time of every line after it is kept.
 */
final class Background {
    private final Process process;
    private final Thread reader;
    private final StringBuilder out = new StringBuilder();
    private final List<long[]> lineTimes = new ArrayList<>();
    private final List<String> lines = new ArrayList<>();
    private volatile long actionAt;
    private volatile long endedAt;
    private volatile RuntimeException actionFailure;

    private Background(Process process, Pattern trigger, Runnable action) {
        this.process = process;
        this.reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    synchronized (this) {
                        out.append(line).append('\n');
                        lines.add(line);
                        lineTimes.add(new long[] {System.nanoTime()});
                    }
                    if (actionAt == 0 && trigger.matcher(line).find()) {
                        actionAt = System.nanoTime();
                        try {
                            action.run();
                        } catch (RuntimeException e) {
                            actionFailure = e;
                        }
                    }
                }
            } catch (IOException e) {
                // The process ended.
            }
            endedAt = System.nanoTime();
        }, "etcd-rescue-output");
        reader.start();
    }

    static Background start(Pattern trigger, Runnable action, String... args) throws IOException {
        List<String> argv = new ArrayList<>();
        argv.add(Cli.projectRoot().resolve("deploy/bin/etcd-rescue").toString());
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        System.out.println("$ etcd-rescue " + String.join(" ", args) + "  (background)");
        return new Background(p, trigger, action);
    }

    Cli.Result await() throws InterruptedException {
        if (!process.waitFor(10, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new AssertionError("etcd-rescue did not end within 10 minutes:\n" + out);
        }
        reader.join(10_000);
        System.out.println(out);
        if (actionFailure != null) {
            throw new AssertionError("the fault could not be injected: " + actionFailure.getMessage() + "\n" + out, actionFailure);
        }
        assertThat(actionAt).as("the trigger line never appeared:\n" + out).isPositive();
        return new Cli.Result(process.exitValue(), out.toString(), "");
    }

    /** Milliseconds from the fault to the first later line matching {@code text}. */
    synchronized long millisFromActionTo(Pattern text) {
        for (int i = 0; i < lines.size(); i++) {
            if (lineTimes.get(i)[0] >= actionAt && text.matcher(lines.get(i)).find()) {
                return (lineTimes.get(i)[0] - actionAt) / 1_000_000;
            }
        }
        throw new AssertionError("no line with '" + text + "' after the fault:\n" + out);
    }

    /** Milliseconds from {@code fromNanos} (a fault the action injected later than the trigger) to the first later line matching. */
    synchronized long millisFrom(long fromNanos, Pattern text) {
        for (int i = 0; i < lines.size(); i++) {
            if (lineTimes.get(i)[0] >= fromNanos && text.matcher(lines.get(i)).find()) {
                return (lineTimes.get(i)[0] - fromNanos) / 1_000_000;
            }
        }
        throw new AssertionError("no line with '" + text + "' after the fault:\n" + out);
    }

    long millisFromToEnd(long fromNanos) {
        return (endedAt - fromNanos) / 1_000_000;
    }

    long millisFromActionToEnd() {
        return (endedAt - actionAt) / 1_000_000;
    }
}
