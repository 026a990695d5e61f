package dev.etcdrescue.systemtest;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * A TCP relay that can fall silent, standing in for packets dropped by the network (this machine has
 * neither iptables nor nft). While forwarding it is transparent (TLS passes through end to end, so the
 * relay on the host's own address is accepted by hostname verification). {@link #silence()} makes every
 * connection stop forwarding without closing either side, and every new connection accepted but never
 * served: the peers see timeouts, never a reset, and an end that closes its side is not told to the
 * other (its FIN is lost too). {@link #heal()} serves new connections again; the silenced ones stay
 * half-open, as after a real partition, until {@link #resetSilenced()} resets both their ends.
 */
final class BlackholeProxy implements AutoCloseable {
    private final ServerSocket server;
    private final InetSocketAddress target;
    private final List<Pair> pairs = new ArrayList<>();
    private final CountDownLatch closed = new CountDownLatch(1);
    private volatile boolean silent;

    private BlackholeProxy(ServerSocket server, InetSocketAddress target) {
        this.server = server;
        this.target = target;
        Thread acceptor = new Thread(this::acceptLoop, "blackhole-accept-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    static BlackholeProxy start(String address, int port, String targetAddress, int targetPort) throws IOException {
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getByName(address), port));
        return new BlackholeProxy(server, new InetSocketAddress(InetAddress.getByName(targetAddress), targetPort));
    }

    /** From now on nothing passes, in either direction, on any connection; nothing is closed either. */
    synchronized void silence() {
        silent = true;
        pairs.forEach(p -> p.silenced = true);
    }

    /** New connections are served again; those silenced stay as they are. */
    synchronized void heal() {
        silent = false;
    }

    /** Resets (RST) both ends of every silenced connection, as the next segment after a partition would. */
    synchronized void resetSilenced() {
        for (Pair p : pairs) {
            if (p.silenced) {
                p.reset();
            }
        }
        pairs.removeIf(p -> p.silenced);
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return;
            }
            Pair pair = new Pair(client);
            synchronized (this) {
                pairs.add(pair);
                if (silent) {
                    pair.silenced = true;
                    continue;
                }
            }
            try {
                pair.server = new Socket(target.getAddress(), target.getPort());
            } catch (IOException e) {
                pair.reset();
                continue;
            }
            pump(pair, pair.client, pair.server);
            pump(pair, pair.server, pair.client);
        }
    }

    private void pump(Pair pair, Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16384];
            try (InputStream in = from.getInputStream()) {
                OutputStream out = to.getOutputStream();
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (pair.silenced) {
                        continue; // dropped
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
                if (pair.silenced) {
                    closed.await(); // the FIN is lost with everything else
                } else {
                    to.shutdownOutput();
                }
            } catch (IOException e) {
                if (pair.silenced) {
                    awaitClose(); // so is a reset: the other end must not hear of it
                } else {
                    pair.reset();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "blackhole-pump");
        t.setDaemon(true);
        t.start();
    }

    private void awaitClose() {
        try {
            closed.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        closed.countDown();
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        synchronized (this) {
            pairs.forEach(Pair::reset);
            pairs.clear();
        }
    }

    private static final class Pair {
        private final Socket client;
        private volatile Socket server;
        private volatile boolean silenced;

        Pair(Socket client) {
            this.client = client;
        }

        void reset() {
            for (Socket s : new Socket[] {client, server}) {
                if (s != null) {
                    try {
                        s.setSoLinger(true, 0);
                        s.close();
                    } catch (IOException ignored) {
                        // already gone
                    }
                }
            }
        }
    }
}
