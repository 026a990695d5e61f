package dev.etcdrescue.coordinator.snapshot.bolt;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** A single-member etcd from another binary (etcd 3.5 under .tools), started as LocalEtcd starts 3.4; ended by pid. */
final class OtherEtcd implements AutoCloseable {
    private final Process process;
    private final URI clientUrl;

    private OtherEtcd(Process process, URI clientUrl) {
        this.process = process;
        this.clientUrl = clientUrl;
    }

    static OtherEtcd start(Path binary, Path dir, String name) throws Exception {
        int client = freePort();
        int peer = freePort();
        String c = "http://127.0.0.1:" + client;
        String p = "http://127.0.0.1:" + peer;
        Process proc = new ProcessBuilder(binary.toString(), "--name", name, "--data-dir", dir.resolve(name).toString(),
                "--listen-client-urls", c, "--advertise-client-urls", c, "--listen-peer-urls", p,
                "--initial-advertise-peer-urls", p, "--initial-cluster", name + "=" + p)
                .redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile()).start();
        OtherEtcd etcd = new OtherEtcd(proc, URI.create(c));
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket("127.0.0.1", client)) {
                return etcd;
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        etcd.close();
        throw new IllegalStateException("etcd did not listen on " + c + "; see " + dir.resolve(name + ".log"));
    }

    URI clientUrl() {
        return clientUrl;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
