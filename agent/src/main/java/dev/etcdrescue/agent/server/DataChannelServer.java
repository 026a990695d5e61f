package dev.etcdrescue.agent.server;

import dev.etcdrescue.agent.transfer.ZeroCopyChunks;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The snapshot data channel (decision 0023): a TLS listener beside the gRPC server, on the same address,
 * with the same {@link SslContext} (TLS 1.3 only, client certificate required from the fleet CA). Each
 * connection carries one UploadSnapshot's chunks ({@link DataChannelSession}); one thread accepts, and
 * each connection has its own thread while it lasts, at most {@link #MAX_CONNECTIONS} at once.
 */
public final class DataChannelServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DataChannelServer.class);
    /** More than a relay chain and a resumed upload need; a flood of connections is closed unread. */
    static final int MAX_CONNECTIONS = 8;

    private final ServerSocketChannel server;
    private final DataChannelSession.Factory sessions;
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger count = new AtomicInteger();

    private DataChannelServer(ServerSocketChannel server, DataChannelSession.Factory sessions) {
        this.server = server;
        this.sessions = sessions;
    }

    /**
     * Listens on {@code address}; empty, with a warning, when it cannot (the port is taken): senders then
     * use UploadSnapshot, which works everywhere, only at more CPU per byte.
     */
    public static Optional<DataChannelServer> start(InetSocketAddress address, SslContext tls, CoordinatorAuthInterceptor auth,
                                                    RescueAgentService service, ZeroCopyChunks chunks) {
        ServerSocketChannel server;
        try {
            server = ServerSocketChannel.open();
            server.bind(address);
        } catch (IOException e) {
            log.warn("no snapshot data channel on {}: {}; uploads go over gRPC (more CPU per byte)", address, e.getMessage());
            return Optional.empty();
        }
        DataChannelServer data = new DataChannelServer(server, new DataChannelSession.Factory(tls, auth, service, chunks));
        Thread acceptor = new Thread(data::acceptLoop, "agent-data-accept");
        acceptor.setDaemon(true);
        acceptor.start();
        log.info("snapshot data channel listening on {}", data.server.socket().getLocalSocketAddress());
        return Optional.of(data);
    }

    public int port() {
        return server.socket().getLocalPort();
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            SocketChannel connection;
            try {
                connection = server.accept();
            } catch (ClosedChannelException closed) {
                return;
            } catch (IOException e) {
                log.warn("data channel: accept failed: {}", e.getMessage());
                continue;
            }
            if (open.incrementAndGet() > MAX_CONNECTIONS) {
                open.decrementAndGet();
                log.warn("data channel: {} connections open already; closed the one from {}", MAX_CONNECTIONS, remote(connection));
                closeQuietly(connection);
                continue;
            }
            Thread worker = new Thread(() -> {
                try {
                    sessions.serve(connection);
                } finally {
                    open.decrementAndGet();
                }
            }, "agent-data-" + count.incrementAndGet());
            worker.setDaemon(true);
            worker.start();
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            log.warn("closing the data channel's listener: {}", e.getMessage());
        }
    }

    static Object remote(SocketChannel connection) {
        try {
            return connection.getRemoteAddress();
        } catch (IOException e) {
            return "(unknown)";
        }
    }

    static void closeQuietly(SocketChannel connection) {
        try {
            connection.close();
        } catch (IOException ignored) {
            // Refused or broken: nothing more to say to it.
        }
    }
}
