package dev.etcdrescue.coordinator.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * What a command printed: System.out and System.err captured for each test (the CLI prints there, as
 * the operator sees it) and put back after it. Register with {@code @RegisterExtension}.
 */
final class StandardStreams implements BeforeEachCallback, AfterEachCallback {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream savedOut;
    private PrintStream savedErr;

    @Override
    public void beforeEach(ExtensionContext context) {
        savedOut = System.out;
        savedErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Override
    public void afterEach(ExtensionContext context) {
        System.setOut(savedOut);
        System.setErr(savedErr);
    }

    /** Forgets what was printed so far: the next {@link #out()} and {@link #err()} hold only what follows. */
    void forget() {
        out.reset();
        err.reset();
    }

    /** Standard output so far. */
    String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Standard error so far. */
    String err() {
        return err.toString(StandardCharsets.UTF_8);
    }
}
