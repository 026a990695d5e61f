package dev.etcdrescue.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real S3-compatible server on loopback for tests: s3proxy (its jar with dependencies, which the module's build copies to
 * {@code target/s3proxy/s3proxy.jar}, system property {@value #JAR_PROPERTY}) with jclouds' filesystem backend, run as its
 * own JVM so that a test can SIGKILL it mid-request and start it again on the same address, port and files. Signed
 * requests only (AWS v2 or v4) with {@link #ACCESS_KEY} / {@link #SECRET_KEY}; one bucket, {@link #BUCKET}, created as the
 * directory the backend reads. Ended by pid on {@link #close}.
 */
public final class S3Proxy implements AutoCloseable {
    public static final String JAR_PROPERTY = "s3proxy.jar";
    public static final String BUCKET = "etcd-backups";
    public static final String ACCESS_KEY = "test-access-key";
    public static final String SECRET_KEY = "test-secret-key-not-a-real-one";

    private final Path dir;
    private final String address;
    private final int port;
    private Process process;

    private S3Proxy(Path dir, String address, int port) {
        this.dir = dir;
        this.address = address;
        this.port = port;
    }

    /** Starts s3proxy on {@code address} (a 127.x address) at a free port, its objects under {@code dir}/blobs. */
    public static S3Proxy start(Path dir, String address) throws IOException, InterruptedException {
        S3Proxy s3 = new S3Proxy(dir, address, freePort(address));
        Files.createDirectories(s3.blobs().resolve(BUCKET));
        s3.launch();
        return s3;
    }

    private static int freePort(String address) throws IOException {
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress(InetAddress.getByName(address), 0));
            return socket.getLocalPort();
        }
    }

    private void launch() throws IOException, InterruptedException {
        Path jar = Path.of(System.getProperty(JAR_PROPERTY, "target/s3proxy/s3proxy.jar"));
        if (!Files.isRegularFile(jar)) {
            throw new IOException("no s3proxy jar at " + jar + ": the module's build copies it (mvn process-test-resources)");
        }
        Path conf = dir.resolve("s3proxy.conf");
        Files.writeString(conf, String.join("\n",
                "s3proxy.endpoint=http://" + address + ":" + port,
                "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + ACCESS_KEY,
                "s3proxy.credential=" + SECRET_KEY,
                "jclouds.provider=filesystem",
                "jclouds.filesystem.basedir=" + blobs()) + "\n");
        String java = ProcessHandle.current().info().command().orElse("java");
        process = new ProcessBuilder(List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", jar.toString(),
                "--properties", conf.toString()))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("s3proxy.log").toFile()))
                .start();
        // Ended by its pid when the test JVM exits without closing it (a timeout, a failure before @AfterAll).
        Process started = process;
        Runtime.getRuntime().addShutdownHook(new Thread(started::destroyForcibly, "s3proxy-" + started.pid() + "-reaper"));
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("s3proxy exited with " + process.exitValue() + "; see " + dir.resolve("s3proxy.log"));
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(address, port), 500);
                return;
            } catch (IOException notYet) {
                Thread.sleep(200);
            }
        }
        close();
        throw new IOException("s3proxy did not listen on " + address + ":" + port + " within 60 s; see " + dir.resolve("s3proxy.log"));
    }

    /** {@code http://address:port}: the endpoint to configure. */
    public URI endpoint() {
        return URI.create("http://" + address + ":" + port);
    }

    /** Where the filesystem backend keeps the buckets: {@code blobs()/BUCKET/key} is an object's bytes. */
    public Path blobs() {
        return dir.resolve("blobs");
    }

    public long pid() {
        return process.pid();
    }

    /** SIGKILL, and waits until the process is gone: the server dies mid-request, as a crashed store would. */
    public void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** Starts it again on the same address, port and files. */
    public void restart() throws IOException, InterruptedException {
        kill();
        launch();
    }

    /** Starts it again when a test killed it and failed before it restarted it. */
    public void ensureRunning() throws IOException, InterruptedException {
        if (process == null || !process.isAlive()) {
            launch();
        }
    }

    /** An AWS-style credentials file (mode 600) with this server's key, in {@code dir}. */
    public Path credentialsFile(Path where) {
        try {
            Path f = where.resolve("s3-credentials");
            Files.deleteIfExists(f);
            Files.createFile(f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(f, "[default]\naws_access_key_id = " + ACCESS_KEY + "\naws_secret_access_key = " + SECRET_KEY + "\n");
            return f;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }
}
