package dev.etcdrescue.agent.testing;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real etcd 3.4 on loopback, started from /usr/bin/etcd, stopped by its pid on close. Also runs
 * etcdctl against it.
 */
public final class EtcdServer implements AutoCloseable {
    public static final Path ETCD = Path.of("/usr/bin/etcd");
    public static final Path ETCDCTL = Path.of("/usr/bin/etcdctl");

    private final Process process;
    private final String clientUrl;

    private EtcdServer(Process process, String clientUrl) {
        this.process = process;
        this.clientUrl = clientUrl;
    }

    /** A fresh single-member cluster in {@code dataDir}. */
    public static EtcdServer startFresh(Path dataDir, Path log) throws Exception {
        int client = Ports.free();
        int peer = Ports.free();
        String peerUrl = "http://127.0.0.1:" + peer;
        return start(List.of("--name", "t", "--data-dir", dataDir.toString(),
                "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", "t=" + peerUrl), client, peer, log);
    }

    /** A member from a restored data dir: the cluster is in the data, only URLs are given. */
    public static EtcdServer startRestored(Path dataDir, String name, int client, int peer, Path log) throws Exception {
        return startRestored(ETCD, dataDir, name, client, peer, log);
    }

    public static EtcdServer startRestored(Path etcd, Path dataDir, String name, int client, int peer, Path log)
            throws Exception {
        return start(etcd, List.of("--name", name, "--data-dir", dataDir.toString()), client, peer, log);
    }

    private static EtcdServer start(List<String> args, int client, int peer, Path log) throws Exception {
        return start(ETCD, args, client, peer, log);
    }

    private static EtcdServer start(Path etcd, List<String> args, int client, int peer, Path log) throws Exception {
        String clientUrl = "http://127.0.0.1:" + client;
        List<String> argv = new ArrayList<>(List.of(etcd.toString()));
        argv.addAll(args);
        argv.addAll(List.of("--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl,
                "--listen-peer-urls", "http://127.0.0.1:" + peer));
        Process process = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectOutput(log.toFile()).redirectInput(new File("/dev/null")).start();
        EtcdServer server = new EtcdServer(process, clientUrl);
        try {
            server.awaitHealthy(Duration.ofSeconds(20));
        } catch (Exception e) {
            server.close();
            throw e;
        }
        return server;
    }

    public String clientUrl() {
        return clientUrl;
    }

    public long pid() {
        return process.pid();
    }

    public String etcdctl(String... args) throws Exception {
        return etcdctlWithInput(Path.of("/dev/null"), args);
    }

    public String etcdctlWithInput(Path stdin, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(ETCDCTL.toString(), "--endpoints", clientUrl));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectInput(stdin.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("etcdctl " + String.join(" ", args) + " timed out");
        }
        if (p.exitValue() != 0) {
            throw new IOException("etcdctl " + String.join(" ", args) + " failed: " + out);
        }
        return out;
    }

    private void awaitHealthy(Duration timeout) throws Exception {
        Instant until = Instant.now().plus(timeout);
        Exception last = null;
        while (Instant.now().isBefore(until)) {
            if (!process.isAlive()) {
                throw new IOException("etcd exited with " + process.exitValue());
            }
            try {
                etcdctl("endpoint", "health", "--command-timeout=1s");
                return;
            } catch (IOException e) {
                last = e;
                Thread.sleep(100);
            }
        }
        throw new IOException("etcd at " + clientUrl + " not healthy within " + timeout, last);
    }

    @Override
    public void close() {
        ProcessHandle handle = process.toHandle();
        handle.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                handle.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            handle.destroyForcibly();
        }
    }
}
