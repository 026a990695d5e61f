package dev.etcdrescue.testsupport;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real etcd member on 127.0.0.1 (Debian's /usr/bin/etcd, or another binary such as etcd 3.5 under
 * .tools), for tests: returned once it answers {@code endpoint health}, ended by its pid on close. Also
 * runs etcdctl against it.
 */
public final class LocalEtcd implements AutoCloseable {
    public static final Path ETCD = Path.of("/usr/bin/etcd");
    public static final Path ETCDCTL = Path.of("/usr/bin/etcdctl");

    private final Process process;
    private final URI clientUrl;

    private LocalEtcd(Process process, URI clientUrl) {
        this.process = process;
        this.clientUrl = clientUrl;
    }

    /** A fresh single-member cluster named {@code name}, its data in {@code dir/name}, its log in {@code dir/name.log}. */
    public static LocalEtcd start(Path dir, String name, String... extraArgs) throws Exception {
        return start(ETCD, dir, name, extraArgs);
    }

    /** The same with another etcd {@code binary}. */
    public static LocalEtcd start(Path binary, Path dir, String name, String... extraArgs) throws Exception {
        int peer = FreePorts.loopback();
        String peerUrl = "http://127.0.0.1:" + peer;
        List<String> args = new ArrayList<>(List.of("--name", name, "--data-dir", dir.resolve(name).toString(),
                "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", name + "=" + peerUrl));
        args.addAll(List.of(extraArgs));
        return launch(binary, args, FreePorts.loopback(), peer, dir.resolve(name + ".log"));
    }

    /** A fresh single-member cluster in {@code dataDir}. */
    public static LocalEtcd startFresh(Path dataDir, Path log) throws Exception {
        int peer = FreePorts.loopback();
        String peerUrl = "http://127.0.0.1:" + peer;
        return launch(ETCD, List.of("--name", "t", "--data-dir", dataDir.toString(), "--initial-advertise-peer-urls", peerUrl,
                "--initial-cluster", "t=" + peerUrl), FreePorts.loopback(), peer, log);
    }

    /** A member from a restored data dir: the cluster is in the data, only the URLs are given. */
    public static LocalEtcd startRestored(Path dataDir, String name, int client, int peer, Path log) throws Exception {
        return startRestored(ETCD, dataDir, name, client, peer, log);
    }

    public static LocalEtcd startRestored(Path etcd, Path dataDir, String name, int client, int peer, Path log) throws Exception {
        return launch(etcd, List.of("--name", name, "--data-dir", dataDir.toString()), client, peer, log);
    }

    private static LocalEtcd launch(Path etcd, List<String> args, int client, int peer, Path log) throws Exception {
        String clientUrl = "http://127.0.0.1:" + client;
        List<String> argv = new ArrayList<>(List.of(etcd.toString()));
        argv.addAll(args);
        argv.addAll(List.of("--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl,
                "--listen-peer-urls", "http://127.0.0.1:" + peer));
        Process process = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectOutput(log.toFile()).redirectInput(new File("/dev/null")).start();
        LocalEtcd server = new LocalEtcd(process, URI.create(clientUrl));
        try {
            server.awaitHealthy(Duration.ofSeconds(20), log);
        } catch (Exception e) {
            server.close();
            throw e;
        }
        return server;
    }

    public URI clientUrl() {
        return clientUrl;
    }

    public long pid() {
        return process.pid();
    }

    /** Runs etcdctl (API v3) against this member and returns its stdout. */
    public String etcdctl(String... args) throws Exception {
        return etcdctlWithInput(Path.of("/dev/null"), args);
    }

    public String etcdctlWithInput(Path stdin, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(ETCDCTL.toString(), "--endpoints", clientUrl.toString()));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true).redirectInput(stdin.toFile());
        pb.environment().put("ETCDCTL_API", "3");
        Process p = pb.start();
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

    private void awaitHealthy(Duration timeout, Path log) throws Exception {
        Instant until = Instant.now().plus(timeout);
        Exception last = null;
        while (Instant.now().isBefore(until)) {
            if (!process.isAlive()) {
                throw new IOException("etcd exited with " + process.exitValue() + "; see " + log);
            }
            try {
                etcdctl("endpoint", "health", "--command-timeout=1s");
                return;
            } catch (IOException e) {
                last = e;
                Thread.sleep(100);
            }
        }
        throw new IOException("etcd at " + clientUrl + " not healthy within " + timeout + "; see " + log, last);
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
