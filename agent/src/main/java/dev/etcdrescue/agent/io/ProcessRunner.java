package dev.etcdrescue.agent.io;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a child process from an argv (never through a shell) with its own timeout: gRPC deadlines
 * belong to the client, and a hung tool must not hold the agent forever.
 */
public class ProcessRunner {
    private static final Logger log = LoggerFactory.getLogger(ProcessRunner.class);
    /** Output beyond this is dropped: the agent keeps tails for messages, not whole logs. */
    private static final int MAX_CAPTURE_BYTES = 1 << 20;
    private static final Set<String> INHERITED_ENV = Set.of("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "HOME");

    public ProcessResult run(List<String> argv, Map<String, String> extraEnv, Duration timeout) {
        return run(argv, extraEnv, timeout, Cancellation.NONE);
    }

    /** The same, ended early (the child is sent SIGTERM) when {@code cancellation} fires. */
    public ProcessResult run(List<String> argv, Map<String, String> extraEnv, Duration timeout, Cancellation cancellation) {
        long started = System.nanoTime();
        ProcessBuilder builder = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(
                new File("/dev/null")));
        // Children get a minimal environment plus what the call passes: not the agent's JAVA_OPTS,
        // failpoints or anything else its unit sets.
        builder.environment().keySet().retainAll(INHERITED_ENV);
        builder.environment().putAll(extraEnv);
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + argv.get(0) + ": " + e.getMessage(), e);
        }
        CompletableFuture<String> out = drain(process.getInputStream());
        CompletableFuture<String> err = drain(process.getErrorStream());
        Runnable unregister = cancellation.whenCancelled(() -> {
            log.info("{} (pid {}) is no longer awaited: ending it", argv.get(0), process.pid());
            process.destroy();
        });
        boolean finished;
        try {
            finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            finished = false;
        } finally {
            unregister.run();
        }
        if (!finished) {
            log.warn("{} did not finish within {}: killing pid {}", argv.get(0), timeout, process.pid());
            process.destroyForcibly();
            try {
                process.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        int exit = finished ? process.exitValue() : -1;
        ProcessResult result = new ProcessResult(List.copyOf(argv), exit, out.join(), err.join(), !finished, took);
        log.debug("ran {} -> exit {} in {} ms", argv, exit, took.toMillis());
        return result;
    }

    private static CompletableFuture<String> drain(InputStream stream) {
        CompletableFuture<String> result = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            byte[] chunk = new byte[8192];
            try (stream) {
                int n;
                while ((n = stream.read(chunk)) >= 0) {
                    if (buffer.size() < MAX_CAPTURE_BYTES) {
                        buffer.write(chunk, 0, Math.min(n, MAX_CAPTURE_BYTES - buffer.size()));
                    }
                }
            } catch (IOException e) {
                // The process was killed or closed its end: keep what was read.
            }
            result.complete(buffer.toString(StandardCharsets.UTF_8));
        }, "process-output");
        reader.setDaemon(true);
        reader.start();
        return result;
    }
}
