package dev.etcdrescue.systemtest.testbed;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;

/**
 * N test hosts on this machine, each a real systemd with Debian's {@code etcd.service}, on 127.X.Y.1..N
 * of a block picked for this run. Everything lives in one run dir under /var/lib/etcd-rescue-testbed;
 * {@link #close()} (or, if the JVM is interrupted, its shutdown hook) ends every host and removes the
 * run dir.
 *
 * <pre>{@code
 * try (Testbed testbed = Testbed.create(5, Testbed.Options.defaults())) {
 *     testbed.startOldCluster("old-cluster");
 *     testbed.installAgents(pkiDir);
 *     TestHost survivor = testbed.host(0);
 *     ...
 * }
 * }</pre>
 */
public final class Testbed implements AutoCloseable {
    private static final Pattern HOST_PREFIX = Pattern.compile("[a-z][a-z0-9-]{0,30}");
    private static final Duration UP_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration DOWN_TIMEOUT = Duration.ofSeconds(60);

    /** How a run is built: which etcd the hosts run and how they are named ({@code <prefix>-0..N-1}). */
    public record Options(EtcdVersion etcd, String hostPrefix) {
        public Options {
            Objects.requireNonNull(etcd, "etcd");
            if (!HOST_PREFIX.matcher(hostPrefix).matches()) {
                throw new IllegalArgumentException("host prefix must match " + HOST_PREFIX + ": " + hostPrefix);
            }
        }

        /** Debian's etcd 3.4, hosts member-0..N-1. */
        public static Options defaults() {
            return new Options(EtcdVersion.DEBIAN_3_4, "member");
        }

        public Options withEtcd(EtcdVersion version) {
            return new Options(version, hostPrefix);
        }

        public Options withHostPrefix(String prefix) {
            return new Options(etcd, prefix);
        }
    }

    private final Path projectRoot;
    private final TestbedScript script;
    private final Path runDir;
    private final AddressBlock block;
    private final Options options;
    private final List<TestHost> hosts = new ArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Thread shutdownHook;

    private Testbed(Path projectRoot, TestbedScript script, Path runDir, AddressBlock block, Options options) {
        this.projectRoot = projectRoot;
        this.script = script;
        this.runDir = runDir;
        this.block = block;
        this.options = options;
        this.shutdownHook = new Thread(this::closeQuietly, "testbed-shutdown-" + runDir.getFileName());
    }

    /** Boots {@code hosts} hosts (systemd up, etcd not started). */
    public static Testbed create(int hosts, Options options) {
        if (hosts < 1 || hosts > 20) {
            throw new IllegalArgumentException("hosts must lie in 1..20: " + hosts);
        }
        Path projectRoot = findProjectRoot();
        TestbedScript script = new TestbedScript(projectRoot);
        // Runs left by a JVM that was killed outright (no shutdown hook) would hold addresses and cgroups.
        script.run(DOWN_TIMEOUT, "gc");
        AddressBlock block = AddressBlock.pickFree(hosts);
        String runDir = script.run(Duration.ofSeconds(30), "new-run", "--owner",
                Long.toString(ProcessHandle.current().pid())).requireOk().stdout().strip();
        Testbed testbed = new Testbed(projectRoot, script, Path.of(runDir), block, options);
        Runtime.getRuntime().addShutdownHook(testbed.shutdownHook);
        try {
            for (int i = 0; i < hosts; i++) {
                testbed.boot(options.hostPrefix() + "-" + i, block.address(i + 1));
            }
        } catch (RuntimeException e) {
            testbed.closeQuietly();
            throw e;
        }
        System.out.println("testbed: " + hosts + " hosts on " + block + " in " + runDir + " (etcd "
                + options.etcd().testbedFlag() + ")");
        return testbed;
    }

    private void boot(String name, String address) {
        ExecResult up = script.run(UP_TIMEOUT, "up", runDir.toString(), name, address, "--etcd",
                options.etcd().testbedFlag());
        if (!up.ok()) {
            throw new IllegalStateException("host " + name + " did not boot:\n" + up.describe());
        }
        String[] lines = up.stdout().strip().split("\n");
        long pid = Long.parseLong(lines[lines.length - 1].strip());
        hosts.add(new TestHost(script, runDir, name, address, pid));
    }

    /** The project checkout: the surefire property, else the first parent holding testbed/testbed.sh. */
    static Path findProjectRoot() {
        String configured = System.getProperty("etcdrescue.projectRoot");
        if (configured != null) {
            return Path.of(configured).toAbsolutePath().normalize();
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (dir.resolve("testbed/testbed.sh").toFile().isFile()) {
                return dir;
            }
        }
        throw new IllegalStateException("project root not found: set -Detcdrescue.projectRoot");
    }

    public List<TestHost> hosts() {
        return Collections.unmodifiableList(hosts);
    }

    public TestHost host(int index) {
        return hosts.get(index);
    }

    public TestHost host(String name) {
        return hosts.stream().filter(h -> h.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no host " + name + " in " + hosts));
    }

    public Path runDir() {
        return runDir;
    }

    public AddressBlock addressBlock() {
        return block;
    }

    public Options options() {
        return options;
    }

    public Path projectRoot() {
        return projectRoot;
    }

    /** Prefix of every cgroup of this run's hosts (one per host: {@code <prefix>-<host name>}). */
    public String cgroupPrefix() {
        return "etcd-rescue-testbed-" + runDir.getFileName();
    }

    // ---- old cluster (the one that loses quorum) ----

    /** {@code http://<address>:2379}: the old member's client URL. */
    public static String oldClientUrl(TestHost host) {
        return OldCluster.clientUrl(host);
    }

    /** {@code http://<address>:2380}: the old member's peer URL. */
    public static String oldPeerUrl(TestHost host) {
        return OldCluster.peerUrl(host);
    }

    /**
     * Writes /etc/default/etcd on every host (one cluster of all hosts, data in /var/lib/etcd/default),
     * starts {@code etcd.service} everywhere and waits until every member is healthy.
     */
    public void startOldCluster(String token) {
        OldCluster.start(hosts, token);
    }

    /** As {@link #startOldCluster(String)}, one cluster of {@code members} only: the other hosts stay spare (no etcd running). */
    public void startOldCluster(String token, List<TestHost> members) {
        OldCluster.start(members, token);
    }

    /** Makes the host's etcd stay dead: a runtime {@code Restart=no} drop-in, then SIGKILL. */
    public void killEtcdPermanently(TestHost host) {
        OldCluster.killPermanently(host);
    }

    // ---- agents ----

    /**
     * Installs the agent on every host as an operator would ({@code deploy/install-agent.sh} run inside
     * the host) and waits until each listens on {@code <address>:7443}. {@code pkiDir} holds the fleet CA
     * ({@code ca.pem}, {@code ca-key.pem}) and the coordinator's certificate ({@code coordinator.pem},
     * {@code coordinator-key.pem}): created if missing, so it serves as the coordinator's {@code tls_dir}.
     * Each host's certificate and agent.yaml go to {@code pkiDir/<host name>/}.
     */
    public void installAgents(Path pkiDir) {
        new AgentInstaller(projectRoot, runDir).install(hosts, pkiDir);
    }

    /** As {@link #installAgents(Path)}, with these {@code allowed_data_roots} in every agent.yaml. */
    public void installAgents(Path pkiDir, List<String> allowedDataRoots) {
        new AgentInstaller(projectRoot, runDir, allowedDataRoots).install(hosts, pkiDir);
    }

    /**
     * Gives every host a /var/lib of its own: an overlay on the machine's, its upper layer in the host's
     * private /run (a tmpfs, gone with the host), the host's bound dirs under /var/lib (etcd's data, the
     * agent's state, systemd's) moved back on top. A host can then create dirs beside /var/lib/etcd, such
     * as /var/lib/etcd-new, without touching the machine's /var/lib or another host's. Call it before
     * {@link #installAgents}: services started earlier keep their own mount namespace without it.
     */
    public void privateVarLib() {
        for (TestHost host : hosts) {
            host.execOk(Duration.ofSeconds(30), "sh", "-c", PRIVATE_VAR_LIB);
        }
    }

    /**
     * Run inside a host. The upper layer must not lie on the file system of the lower one under it (the
     * kernel refuses overlapping layers, and the run dir is inside /var/lib), hence /run. Each mount under
     * /var/lib is moved away, the overlay mounted, and the mount moved back; nested ones are refused.
     */
    private static final String PRIVATE_VAR_LIB = String.join("\n",
            "set -eu",
            "if [ -e /run/testbed-var-lib ]; then echo 'this host has its own /var/lib already' >&2; exit 1; fi",
            "keep=/run/testbed-var-lib/keep",
            "mkdir -p $keep /run/testbed-var-lib/upper /run/testbed-var-lib/work",
            "subs=$(awk 'index($5, \"/var/lib/\") == 1 { print $5 }' /proc/self/mountinfo | sort -u)",
            "for m in $subs; do",
            "  case \"${m#/var/lib/}\" in */*) echo \"nested mount $m under /var/lib\" >&2; exit 1 ;; esac",
            "done",
            "for m in $subs; do mkdir -p \"$keep/${m#/var/lib/}\"; mount --move \"$m\" \"$keep/${m#/var/lib/}\"; done",
            "mount -t overlay overlay -o lowerdir=/var/lib,upperdir=/run/testbed-var-lib/upper,workdir=/run/testbed-var-lib/work /var/lib",
            "for m in $subs; do mkdir -p \"$m\"; mount --move \"$keep/${m#/var/lib/}\" \"$m\"; done",
            // The file system type follows the " - " that ends a mountinfo line's optional fields.
            "awk '$5 == \"/var/lib\" { for (i = 6; i < NF; i++) if ($i == \"-\") { if ($(i + 1) == \"overlay\") found = 1; break } }"
                    + " END { exit !found }' /proc/self/mountinfo",
            "");

    /** {@code <address>:7443}: where the host's agent listens. */
    public static String agentAddress(TestHost host) {
        return host.address() + ":" + AgentInstaller.AGENT_PORT;
    }

    // ---- end ----

    /** Ends one host now (every process in it); its files stay until {@link #close()}. */
    public void down(TestHost host) {
        script.run(DOWN_TIMEOUT, "down", runDir.toString(), host.name()).requireOk();
    }

    /** Ends every host, removes the run dir. Throws if something of the run could not be removed. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // Called from the hook itself.
        }
        script.run(DOWN_TIMEOUT.multipliedBy(2), "rm", runDir.toString()).requireOk();
    }

    private void closeQuietly() {
        try {
            close();
        } catch (RuntimeException e) {
            System.err.println("testbed: cleaning up " + runDir + " failed: " + e.getMessage());
        }
    }
}
