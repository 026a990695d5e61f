package dev.etcdrescue.agent.backup;

import dev.etcdrescue.agent.io.Json;
import dev.etcdrescue.agent.io.ProcessResult;
import dev.etcdrescue.agent.io.ProcessRunner;
import dev.etcdrescue.agent.io.SafeFiles;
import dev.etcdrescue.agent.restore.CommandLine;
import dev.etcdrescue.agent.restore.DetectedTool;
import dev.etcdrescue.agent.restore.RestoreCommand;
import dev.etcdrescue.agent.restore.RestoreOptions;
import dev.etcdrescue.agent.restore.RestoreTools;
import dev.etcdrescue.agent.spec.MemberPlan;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proves a backup restores: the file read back against its manifest, restored by this host's own restore
 * tool into a scratch dir of the agent's staging, started as a one-member etcd on free loopback ports, and
 * its HashKV and revision compared with the manifest's; then stopped and removed. It never touches the
 * running member (its own data dir, name, ports and cluster token). The result is kept beside the backup.
 */
public final class RestoreDrill {
    private static final Logger log = LoggerFactory.getLogger(RestoreDrill.class);
    static final String DRILL = ".drill.json";
    private static final Duration READY = Duration.ofMinutes(2);
    private final RestoreTools tools;
    private final ProcessRunner runner;
    private final Path staging;
    private final BackupStore store;
    private final Clock clock;
    private final Duration restoreTimeout;

    RestoreDrill(RestoreTools tools, ProcessRunner runner, Path staging, BackupStore store, Clock clock, Duration restoreTimeout) {
        this.tools = tools;
        this.runner = runner;
        this.staging = staging;
        this.store = store;
        this.clock = clock;
        this.restoreTimeout = restoreTimeout;
    }

    /** What a drill found: {@code problem} is null when the restored member held exactly the backup's data. */
    public record Result(String id, String at, boolean ok, double seconds, long revision, long hashKv, String problem) {}

    Result drill(BackupManifest m) throws IOException {
        Instant t0 = clock.instant();
        long start = System.nanoTime();
        Path dir = staging.resolve("drill-" + UUID.randomUUID());
        Files.createDirectories(dir);
        Process etcd = null;
        try {
            Optional<String> differs = store.verify(m);
            if (differs.isPresent()) {
                return record(m, t0, start, -1, -1, differs.get());
            }
            Path snapshot = dir.resolve("snapshot.db");
            store.extract(m, snapshot);
            DetectedTool tool = tools.detect().orElseThrow(() -> new IOException("no etcdutl or etcdctl in the tool dirs"));
            Path etcdBinary = tools.find("etcd").orElseThrow(() -> new IOException("no etcd binary in the tool dirs to start the drill with"));
            int client = freePort();
            int peer = freePort();
            String peerUrl = "http://127.0.0.1:" + peer;
            String clientUrl = "http://127.0.0.1:" + client;
            MemberPlan plan = new MemberPlan("drill", List.of(peerUrl), List.of(clientUrl), List.of(peerUrl), List.of(clientUrl),
                    dir.resolve("data"), Optional.empty(), "drill=" + peerUrl, "etcd-rescue-drill-" + UUID.randomUUID());
            CommandLine restore = RestoreCommand.build(tool, snapshot, plan, RestoreOptions.none());
            ProcessResult restored = runner.run(restore.argv(), restore.env(), restoreTimeout);
            if (!restored.succeeded()) {
                return record(m, t0, start, -1, -1, "snapshot restore failed: " + restored.failureSummary());
            }
            Files.delete(snapshot);
            etcd = new ProcessBuilder(etcdBinary.toString(), "--name=drill", "--data-dir=" + plan.dataDir(),
                    "--listen-client-urls=" + clientUrl, "--advertise-client-urls=" + clientUrl, "--listen-peer-urls=" + peerUrl)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("etcd.log").toFile()).redirectInput(new File("/dev/null")).start();
            Path etcdctl = tools.find("etcdctl").orElseThrow(() -> new IOException("no etcdctl in the tool dirs to ask the drill member"));
            LocalEtcdctl ask = new LocalEtcdctl(etcdctl, new dev.etcdrescue.agent.config.BackupConfig.EtcdAccess(
                    java.net.URI.create(clientUrl), Optional.empty(), Optional.empty(), Optional.empty()), runner);
            long hash = awaitHashKv(ask, etcd, m.revision());
            String problem = hash == m.hashKv() ? null : String.format(java.util.Locale.ROOT,
                    "the restored member's HashKV at revision %d is %08x, the manifest says %08x", m.revision(), hash, m.hashKv());
            return record(m, t0, start, m.revision(), hash, problem);
        } catch (IOException e) {
            return record(m, t0, start, -1, -1, e.getMessage());
        } finally {
            if (etcd != null) {
                etcd.destroy();
                try {
                    if (!etcd.waitFor(20, TimeUnit.SECONDS)) {
                        etcd.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            removeTree(dir);
        }
    }

    /** HashKV of the drill member once it answers, within {@link #READY}. */
    private static long awaitHashKv(LocalEtcdctl ask, Process etcd, long revision) throws IOException {
        long deadline = System.nanoTime() + READY.toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline) {
            if (!etcd.isAlive()) {
                throw new IOException("the drill's etcd exited with " + etcd.exitValue() + " before it answered");
            }
            try {
                return ask.hashKv(revision, Duration.ofSeconds(30));
            } catch (IOException e) {
                last = e;
                try {
                    Thread.sleep(200);
                } catch (InterruptedException i) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted", i);
                }
            }
        }
        throw new IOException("the drill's etcd did not answer within " + READY.toSeconds() + " s: "
                + (last == null ? "" : last.getMessage()));
    }

    private Result record(BackupManifest m, Instant t0, long start, long revision, long hash, String problem) throws IOException {
        Result r = new Result(m.id(), t0.toString(), problem == null, (System.nanoTime() - start) / 1e9, revision, hash, problem);
        SafeFiles.writeAtomically(store.dir().resolve(m.id() + DRILL), Json.strict().writeValueAsString(r), "rw-------");
        if (r.ok()) {
            log.info("drill of backup {}: restored and served in {} s, HashKV {} equal to the manifest's", m.id(),
                    String.format(java.util.Locale.ROOT, "%.1f", r.seconds()), Long.toHexString(hash));
        } else {
            log.warn("drill of backup {} failed: {}", m.id(), problem);
        }
        return r;
    }

    /** The last drill of a backup, if one ran. */
    static Optional<Result> last(Path dir, String id) {
        Path file = dir.resolve(id + DRILL);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Json.lenient().readValue(file.toFile(), Result.class));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Only the drill's own dir, which this object created. */
    private static void removeTree(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            List<Path> all = new ArrayList<>(walk.sorted(Comparator.reverseOrder()).toList());
            for (Path p : all) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            log.warn("could not remove the drill dir {}: {}", dir, e.getMessage());
        }
    }
}
