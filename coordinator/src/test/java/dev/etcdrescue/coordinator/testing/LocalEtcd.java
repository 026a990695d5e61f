package dev.etcdrescue.coordinator.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** A real single-member etcd (Debian's /usr/bin/etcd, or another binary) on 127.0.0.1, for tests; ended by pid on close. */
public final class LocalEtcd implements AutoCloseable {
    private final Process process;
    private final URI clientUrl;

    private LocalEtcd(Process process, URI clientUrl) {
        this.process = process;
        this.clientUrl = clientUrl;
    }

    public static LocalEtcd start(Path dir, String name) throws Exception {
        return start(dir, name, new String[0]);
    }

    public static LocalEtcd start(Path dir, String name, String... extraArgs) throws Exception {
        return start(Path.of("/usr/bin/etcd"), dir, name, extraArgs);
    }

    /** A member of another etcd {@code binary} (etcd 3.5 under .tools, say). */
    public static LocalEtcd start(Path binary, Path dir, String name, String... extraArgs) throws Exception {
        int client = freePort();
        int peer = freePort();
        String c = "http://127.0.0.1:" + client;
        String p = "http://127.0.0.1:" + peer;
        java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of(binary.toString(), "--name", name,
                "--data-dir", dir.resolve(name).toString(), "--listen-client-urls", c, "--advertise-client-urls", c,
                "--listen-peer-urls", p, "--initial-advertise-peer-urls", p, "--initial-cluster", name + "=" + p));
        argv.addAll(java.util.List.of(extraArgs));
        Process proc = new ProcessBuilder(argv)
                .redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile()).start();
        LocalEtcd etcd = new LocalEtcd(proc, URI.create(c));
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

    public URI clientUrl() {
        return clientUrl;
    }

    /** Runs etcdctl against this member and returns its stdout. */
    public String etcdctl(String... args) throws Exception {
        String[] argv = new String[args.length + 3];
        argv[0] = "/usr/bin/etcdctl";
        argv[1] = "--endpoints";
        argv[2] = clientUrl.toString();
        System.arraycopy(args, 0, argv, 3, args.length);
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
        pb.environment().put("ETCDCTL_API", "3");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("etcdctl " + String.join(" ", args) + " failed: " + out);
        }
        return out;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
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
