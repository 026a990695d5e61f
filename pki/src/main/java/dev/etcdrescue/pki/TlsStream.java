package dev.etcdrescue.pki;

import io.netty.util.ReferenceCountUtil;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;

/**
 * A TLS byte stream over one socket, with an engine from the fleet's own {@link io.netty.handler.ssl.SslContext}
 * (BoringSSL, TLS 1.3, the same certificates and checks as gRPC), for the snapshot data channel
 * (decision 0023). It keeps one buffer of each kind (ciphertext in, ciphertext out, plaintext in), all
 * direct, so BoringSSL reads and writes them in place: the plaintext a reader gets is a view of the
 * buffer it was decrypted into, never copied again.
 *
 * <p>Blocking in behaviour (each call returns when done), non-blocking underneath so that every wait
 * has a timeout: a peer that stops sending or reading for {@code idle} ends the stream with a
 * {@link SocketTimeoutException}. An interrupt ends it with an {@link InterruptedIOException}.
 */
public final class TlsStream implements AutoCloseable {
    /** Ciphertext read per system call at most: several TLS records (16 KiB each) per read. */
    private static final int NET_BUFFER_BYTES = 256 << 10;

    private final SocketChannel channel;
    private final SSLEngine engine;
    private final Selector selector;
    private final long idleMillis;
    /** Ciphertext received and not yet decrypted, in read mode. */
    private final ByteBuffer netIn;
    /** Ciphertext to send, in read mode (empty when all is sent). */
    private final ByteBuffer netOut;
    /** Plaintext decrypted and not yet handed out, in read mode. */
    private final ByteBuffer plainIn;
    private boolean closed;

    private TlsStream(SocketChannel channel, SSLEngine engine, int maxRead, Duration idle) throws IOException {
        this.channel = channel;
        this.engine = engine;
        this.idleMillis = idle.toMillis();
        channel.configureBlocking(false);
        this.selector = Selector.open();
        int packet = engine.getSession().getPacketBufferSize();
        this.netIn = ByteBuffer.allocateDirect(Math.max(NET_BUFFER_BYTES, packet)).flip();
        this.netOut = ByteBuffer.allocateDirect(Math.max(NET_BUFFER_BYTES, packet) + packet).flip();
        // Room for the largest read plus one record's plaintext, which may run past it.
        this.plainIn = ByteBuffer.allocateDirect(maxRead + engine.getSession().getApplicationBufferSize()).flip();
    }

    /**
     * Runs the handshake on a connected channel; {@code maxRead} is the most one {@link #read} may ask for.
     * The engine is released when the stream is closed, also when the handshake fails.
     */
    public static TlsStream handshake(SocketChannel channel, SSLEngine engine, int maxRead, Duration idle) throws IOException {
        TlsStream stream = null;
        try {
            stream = new TlsStream(channel, engine, maxRead, idle);
            stream.handshake();
            return stream;
        } catch (IOException | RuntimeException e) {
            if (stream != null) {
                stream.closeQuietly();
            } else {
                ReferenceCountUtil.release(engine);
            }
            throw e;
        }
    }

    public SSLSession session() {
        return engine.getSession();
    }

    private void handshake() throws IOException {
        engine.beginHandshake();
        SSLEngineResult.HandshakeStatus status = engine.getHandshakeStatus();
        while (status != SSLEngineResult.HandshakeStatus.FINISHED && status != SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING) {
            switch (status) {
                case NEED_WRAP -> status = wrap(ByteBuffer.allocate(0)).getHandshakeStatus();
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> status = unwrapSome().getHandshakeStatus();
                case NEED_TASK -> status = runTasks();
                default -> throw new SSLException("unexpected handshake state " + status);
            }
        }
        flush();
    }

    /**
     * The next {@code n} bytes of plaintext, as a read-only view that stays valid until the next call
     * of any method of this stream. {@link EOFException} when the peer closed before them.
     */
    public ByteBuffer read(int n) throws IOException {
        if (n > plainIn.capacity() - engine.getSession().getApplicationBufferSize()) {
            throw new IllegalArgumentException("read of " + n + " bytes beyond this stream's buffer");
        }
        if (plainIn.remaining() < n) {
            plainIn.compact().flip();
            while (plainIn.remaining() < n) {
                SSLEngineResult result = unwrapSome();
                if (result.getStatus() == SSLEngineResult.Status.CLOSED) {
                    throw new EOFException("the peer closed the stream " + plainIn.remaining() + " bytes into a read of " + n);
                }
                if (result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
                    runTasks();
                }
                if (result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
                    wrap(ByteBuffer.allocate(0));
                    flush();
                }
            }
        }
        ByteBuffer view = plainIn.slice(plainIn.position(), n).asReadOnlyBuffer();
        plainIn.position(plainIn.position() + n);
        return view;
    }

    /**
     * Whether the peer has sent data (or closed) that was not read yet, without waiting: an answer that
     * comes while this side is still sending. TLS's own messages (session tickets) do not count.
     */
    public boolean peerHasSpoken() throws IOException {
        while (!plainIn.hasRemaining()) {
            SSLEngineResult result = unwrapSome(false);
            if (result == null) {
                netIn.compact();
                int n;
                try {
                    n = channel.read(netIn);
                } finally {
                    netIn.flip();
                }
                if (n < 0) {
                    return true;
                }
                if (n == 0) {
                    return false;
                }
            } else if (result.getStatus() == SSLEngineResult.Status.CLOSED) {
                return true;
            }
        }
        return true;
    }

    /** After an early answer: reads and drops what the peer still sends, for at most {@code millis}, so closing resets nothing. */
    public void discardIncoming(long millis) {
        long end = System.nanoTime() + millis * 1_000_000;
        ByteBuffer sink = ByteBuffer.allocate(64 << 10);
        try {
            while (System.nanoTime() < end) {
                sink.clear();
                int n = channel.read(sink);
                if (n < 0) {
                    return;
                }
                if (n == 0 && selectReady(SelectionKey.OP_READ, Math.max(1, (end - System.nanoTime()) / 1_000_000)) == 0) {
                    return;
                }
            }
        } catch (IOException ignored) {
            // The peer is gone: nothing to drain.
        }
    }

    /** Encrypts and sends all of {@code sources}. */
    public void write(ByteBuffer... sources) throws IOException {
        while (hasRemaining(sources)) {
            wrapInto(sources);
            if (netOut.remaining() >= NET_BUFFER_BYTES) {
                flush();
            }
        }
        flush();
    }

    /** Sends TLS's close_notify and closes the socket; releases the engine. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            engine.closeOutbound();
            for (int i = 0; i < 4 && !engine.isOutboundDone(); i++) {
                netOut.compact();
                SSLEngineResult result;
                try {
                    result = engine.wrap(ByteBuffer.allocate(0), netOut);
                } finally {
                    netOut.flip();
                }
                if (result.bytesProduced() == 0) {
                    break;
                }
            }
            flush();
        } finally {
            selector.close();
            channel.close();
            ReferenceCountUtil.release(engine);
        }
    }

    /** Closes without waiting for the peer to read anything: after a failure. */
    public void closeQuietly() {
        try {
            close();
        } catch (IOException | RuntimeException ignored) {
            // The connection is broken already: nothing more to tell the peer.
        }
    }

    private SSLEngineResult wrap(ByteBuffer source) throws IOException {
        SSLEngineResult result = wrapInto(source);
        flush();
        return result;
    }

    /** One wrap into netOut (left in read mode), after flushing when it has less than a packet's room. */
    private SSLEngineResult wrapInto(ByteBuffer... sources) throws IOException {
        int packet = engine.getSession().getPacketBufferSize();
        if (netOut.capacity() - netOut.remaining() < packet) {
            flush();
        }
        netOut.compact();
        SSLEngineResult result;
        try {
            result = engine.wrap(sources, netOut);
        } finally {
            netOut.flip();
        }
        switch (result.getStatus()) {
            case OK -> {
                return result;
            }
            case CLOSED -> throw new EOFException("the TLS stream is closed");
            default -> {
                if (!netOut.hasRemaining()) {
                    throw new SSLException("no room to encrypt into (" + result + ")");
                }
                flush();
                return result;
            }
        }
    }

    private SSLEngineResult unwrapSome() throws IOException {
        return unwrapSome(true);
    }

    /**
     * One unwrap of what netIn holds; when the engine needs more, reads it from the socket ({@code mayWait})
     * or returns null.
     */
    private SSLEngineResult unwrapSome(boolean mayWait) throws IOException {
        while (true) {
            plainIn.compact();
            SSLEngineResult result;
            try {
                result = engine.unwrap(netIn, plainIn);
            } finally {
                plainIn.flip();
            }
            switch (result.getStatus()) {
                case OK, CLOSED -> {
                    return result;
                }
                case BUFFER_UNDERFLOW -> {
                    if (!mayWait) {
                        return null;
                    }
                    fill();
                }
                default -> throw new SSLException("no room to decrypt into (" + result + ")");
            }
        }
    }

    /** Reads more ciphertext, waiting at most the idle timeout. */
    private void fill() throws IOException {
        netIn.compact();
        try {
            while (true) {
                int n = channel.read(netIn);
                if (n < 0) {
                    throw new EOFException("the peer closed the connection");
                }
                if (n > 0) {
                    return;
                }
                await(SelectionKey.OP_READ);
            }
        } finally {
            netIn.flip();
        }
    }

    private void flush() throws IOException {
        while (netOut.hasRemaining()) {
            if (channel.write(netOut) == 0) {
                await(SelectionKey.OP_WRITE);
            }
        }
    }

    private SSLEngineResult.HandshakeStatus runTasks() {
        for (Runnable task; (task = engine.getDelegatedTask()) != null; ) {
            task.run();
        }
        return engine.getHandshakeStatus();
    }

    private void await(int operation) throws IOException {
        if (selectReady(operation, idleMillis) == 0) {
            throw new SocketTimeoutException("the peer neither sent nor took anything for " + idleMillis + " ms");
        }
    }

    private int selectReady(int operation, long millis) throws IOException {
        SelectionKey key = channel.register(selector, operation);
        try {
            int ready = selector.select(millis);
            if (Thread.interrupted()) {
                throw new InterruptedIOException("interrupted while waiting for the peer");
            }
            selector.selectedKeys().clear();
            return ready;
        } finally {
            key.interestOps(0);
        }
    }

    private static boolean hasRemaining(ByteBuffer[] buffers) {
        for (ByteBuffer b : buffers) {
            if (b.hasRemaining()) {
                return true;
            }
        }
        return false;
    }
}
