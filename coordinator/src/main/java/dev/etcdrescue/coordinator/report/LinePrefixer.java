package dev.etcdrescue.coordinator.report;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.Charset;

/**
 * An output stream that hands {@code target} whole lines only, each led by {@code prefix}: lines of
 * clusters recovering at the same time then never mix mid-line, and each says whose it is.
 */
final class LinePrefixer extends OutputStream {
    private final PrintStream target;
    private final byte[] prefix;
    private final byte[] blankPrefix;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    LinePrefixer(PrintStream target, String prefix, Charset charset) {
        this.target = target;
        this.prefix = prefix.getBytes(charset);
        this.blankPrefix = prefix.stripTrailing().getBytes(charset);
    }

    /** A print stream over a new prefixer, flushing at every line. */
    static PrintStream printStream(PrintStream target, String prefix) {
        Charset charset = Charset.defaultCharset();
        return new PrintStream(new LinePrefixer(target, prefix, charset), true, charset);
    }

    @Override
    public synchronized void write(int b) {
        if (b == '\n') {
            emit();
        } else {
            line.write(b);
        }
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            write(b[i]);
        }
    }

    /** A partial line stays buffered: it is written when its newline comes. */
    @Override
    public void flush() {
        target.flush();
    }

    @Override
    public synchronized void close() {
        if (line.size() > 0) {
            emit();
        }
        target.flush();
    }

    private void emit() {
        byte[] head = line.size() == 0 ? blankPrefix : prefix;
        byte[] whole = new byte[head.length + line.size() + 1];
        System.arraycopy(head, 0, whole, 0, head.length);
        byte[] body = line.toByteArray();
        System.arraycopy(body, 0, whole, head.length, body.length);
        whole[whole.length - 1] = '\n';
        // One write call: PrintStream writes it under its own lock, so no other line lands inside it.
        target.write(whole, 0, whole.length);
        target.flush();
        line.reset();
    }
}
