package dev.etcdrescue.systemtest.testbed;

import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.IssuedCertificate;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Puts the agent on testbed hosts the way an operator does: the distribution tarball unpacked where hosts see
 * it, then its {@code deploy/install-agent.sh} run inside each host with that host's agent.yaml and
 * certificate (the script finds the jars and the launcher beside itself, as in an operator's copy).
 */
final class AgentInstaller {
    static final int AGENT_PORT = 7443;
    static final String COORDINATOR_CN = "etcd-rescue-coordinator";
    private static final Duration VALIDITY = Duration.ofDays(2);
    /** JVM start-up of up to 5 agents at once on 2 cores, plus install-agent.sh's own wait. */
    private static final Duration INSTALL_TIMEOUT = Duration.ofSeconds(150);

    /** The agent config's default data roots: Debian's layout, restored data dirs inside /var/lib/etcd. */
    static final List<String> DEFAULT_DATA_ROOTS = List.of("/var/lib/etcd");

    private final Path projectRoot;
    private final Path runDir;
    private final List<String> allowedDataRoots;

    AgentInstaller(Path projectRoot, Path runDir) {
        this(projectRoot, runDir, DEFAULT_DATA_ROOTS);
    }

    AgentInstaller(Path projectRoot, Path runDir, List<String> allowedDataRoots) {
        this.projectRoot = projectRoot;
        this.runDir = runDir;
        this.allowedDataRoots = List.copyOf(allowedDataRoots);
    }

    void install(List<TestHost> hosts, Path pkiDir) {
        Path dist = copyDistribution();
        try {
            CertificateAuthority ca = fleetCa(pkiDir);
            List<Path> inputs = new ArrayList<>();
            for (TestHost host : hosts) {
                inputs.add(stageHostInput(host, ca, pkiDir));
            }
            ExecutorService pool = Executors.newFixedThreadPool(hosts.size());
            try {
                List<Future<ExecResult>> installs = new ArrayList<>();
                for (int i = 0; i < hosts.size(); i++) {
                    TestHost host = hosts.get(i);
                    Path input = inputs.get(i);
                    installs.add(pool.submit(() -> host.exec(INSTALL_TIMEOUT,
                            dist.resolve("deploy/install-agent.sh").toString(),
                            "--config", input.resolve("agent.yaml").toString(),
                            "--tls-dir", input.toString())));
                }
                for (int i = 0; i < hosts.size(); i++) {
                    ExecResult result = installs.get(i).get();
                    if (!result.ok()) {
                        throw new IllegalStateException("agent install failed on " + hosts.get(i) + "\n"
                                + result.describe() + "\n--- journal\n"
                                + hosts.get(i).journal("etcd-rescue-agent"));
                    }
                }
            } finally {
                pool.shutdownNow();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the agent install", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while installing agents", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("agent install failed", e.getCause());
        }
    }

    /**
     * The distribution tarball ({@code dist/target/etcd-rescue-<version>.tar.gz}) unpacked into the run dir,
     * where hosts see it, as {@code dist/etcd-rescue/} (without the version, so tests can name its scripts):
     * what an operator copies to a host.
     */
    private Path copyDistribution() {
        Path dist = runDir.resolve("dist/etcd-rescue");
        if (Files.isDirectory(dist)) {
            return dist;
        }
        Path tarball = DistributionTarball.find(projectRoot);
        Path unpacking = runDir.resolve("dist/etcd-rescue.unpacking");
        try {
            Files.createDirectories(unpacking);
            Process tar = new ProcessBuilder("tar", "-xzf", tarball.toString(), "-C", unpacking.toString())
                    .redirectErrorStream(true).start();
            String output = new String(tar.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!tar.waitFor(60, TimeUnit.SECONDS) || tar.exitValue() != 0) {
                tar.destroyForcibly();
                throw new IllegalStateException("cannot unpack " + tarball + " into " + unpacking + ": " + output);
            }
            Files.move(onlyDirIn(unpacking), dist);
            Files.delete(unpacking);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot unpack " + tarball + " into " + dist, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while unpacking " + tarball, e);
        }
        return dist;
    }

    /** The tarball unpacks into one dir, etcd-rescue-<version>/. */
    private static Path onlyDirIn(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            List<Path> dirs = entries.filter(Files::isDirectory).toList();
            if (dirs.size() != 1) {
                throw new IllegalStateException("expected one etcd-rescue-<version> dir in " + dir + ", found " + dirs);
            }
            return dirs.get(0);
        }
    }

    private static CertificateAuthority fleetCa(Path pkiDir) throws IOException {
        Files.createDirectories(pkiDir);
        Path caCert = pkiDir.resolve("ca.pem");
        Path caKey = pkiDir.resolve("ca-key.pem");
        CertificateAuthority ca;
        if (Files.exists(caCert)) {
            ca = CertificateAuthority.load(caCert, caKey);
        } else {
            ca = CertificateAuthority.create("etcd-rescue testbed CA", VALIDITY);
            ca.writeTo(caCert, caKey);
        }
        if (!Files.exists(pkiDir.resolve("coordinator.pem"))) {
            ca.issueCoordinator(COORDINATOR_CN, VALIDITY)
                    .writeTo(pkiDir.resolve("coordinator.pem"), pkiDir.resolve("coordinator-key.pem"));
        }
        return ca;
    }

    /**
     * The host's certificate and agent.yaml in {@code pkiDir/<host>/}, copied into the run dir: pkiDir may
     * lie under /tmp, which hosts cannot see.
     */
    private Path stageHostInput(TestHost host, CertificateAuthority ca, Path pkiDir) throws IOException {
        Path own = pkiDir.resolve(host.name());
        Files.createDirectories(own);
        if (!Files.exists(own.resolve("agent.pem"))) {
            IssuedCertificate cert = ca.issueAgent(host.name(), List.of(host.address()), VALIDITY);
            cert.writeTo(own.resolve("agent.pem"), own.resolve("agent-key.pem"));
        }
        Files.copy(pkiDir.resolve("ca.pem"), own.resolve("ca.pem"), StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(own.resolve("agent.yaml"), agentYaml(host, allowedDataRoots));
        Path staged = runDir.resolve("agent-input").resolve(host.name());
        Files.createDirectories(staged);
        for (String file : List.of("ca.pem", "agent.pem", "agent-key.pem", "agent.yaml")) {
            Files.copy(own.resolve(file), staged.resolve(file), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.COPY_ATTRIBUTES);
        }
        return staged;
    }

    /** The host's agent.yaml, in the format of docs/architecture.md, with the paths install-agent.sh uses. */
    static String agentYaml(TestHost host) {
        return agentYaml(host, DEFAULT_DATA_ROOTS);
    }

    /** As {@link #agentYaml(TestHost)}, with the given {@code allowed_data_roots}. */
    static String agentYaml(TestHost host, List<String> allowedDataRoots) {
        return "host_name: " + host.name() + "\n"
                + "listen: " + host.address() + ":" + AGENT_PORT + "\n"
                + "tls:\n"
                + "  ca: /etc/etcd-rescue/tls/ca.pem\n"
                + "  cert: /etc/etcd-rescue/tls/agent.pem\n"
                + "  key: /etc/etcd-rescue/tls/agent-key.pem\n"
                + "  coordinator_cn: " + COORDINATOR_CN + "\n"
                + "state_dir: /var/lib/etcd-rescue-agent\n"
                + "allowed_data_roots: [" + String.join(", ", allowedDataRoots) + "]\n"
                + "env_dir: /etc/default\n"
                + "unit_dir: /etc/systemd/system\n"
                + "base_unit_dirs: [/etc/systemd/system, /lib/systemd/system]\n"
                + "tool_dirs: [/usr/local/bin, /usr/bin]\n"
                + "backup_dirs: [/var/backups/etcd]\n"
                + "max_claim_ttl: PT10M\n";
    }
}
