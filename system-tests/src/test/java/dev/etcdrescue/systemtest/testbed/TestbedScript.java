package dev.etcdrescue.systemtest.testbed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs {@code testbed/testbed.sh} of the project: the one place that boots, enters and ends hosts. */
final class TestbedScript {
    /** Added to a command's own deadline: the script's start-up and nsenter, before the JVM gives up on it. */
    private static final Duration SLACK = Duration.ofSeconds(20);

    private final Path script;

    TestbedScript(Path projectRoot) {
        this.script = projectRoot.resolve("testbed/testbed.sh");
        if (!Files.isExecutable(script)) {
            throw new IllegalStateException("no executable " + script);
        }
    }

    ExecResult run(Duration timeout, List<String> args) {
        List<String> argv = new ArrayList<>();
        argv.add(script.toString());
        argv.addAll(args);
        Path out = null;
        Path err = null;
        try {
            out = Files.createTempFile("testbed-out", ".txt");
            err = Files.createTempFile("testbed-err", ".txt");
            Process process = new ProcessBuilder(argv)
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            if (!process.waitFor(timeout.plus(SLACK).toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                throw new IllegalStateException("testbed.sh " + String.join(" ", args) + " did not end within "
                        + timeout.plus(SLACK).toSeconds() + " s");
            }
            return new ExecResult(List.copyOf(args), process.exitValue(),
                    Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + script, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running testbed.sh " + String.join(" ", args), e);
        } finally {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    ExecResult run(Duration timeout, String... args) {
        return run(timeout, List.of(args));
    }

    private static void deleteQuietly(Path file) {
        if (file != null) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // A temp file left in java.io.tmpdir harms nothing.
            }
        }
    }
}
