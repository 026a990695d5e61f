package dev.etcdrescue.systemtest.testbed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One testbed host: a real systemd (PID 1 of its own namespaces) on its own loopback address. Commands
 * run inside it see its files and talk to its systemd, as they would on a real etcd host.
 */
public final class TestHost {
    /** Host dirs bound over these paths (testbed/host-boot.sh): readable and writable from outside. */
    private static final Map<String, String> BOUND_DIRS = Map.of(
            "/var/lib/etcd", "etcd-data",
            "/etc/default", "default",
            "/etc/systemd/system", "unit-dir",
            "/etc/etcd-rescue", "etc-etcd-rescue",
            "/var/lib/etcd-rescue-agent", "agent-state",
            "/opt", "opt");
    private static final Duration SYSTEMCTL_TIMEOUT = Duration.ofSeconds(60);

    private final TestbedScript script;
    private final Path runDir;
    private final String name;
    private final String address;
    private final long systemdPid;

    TestHost(TestbedScript script, Path runDir, String name, String address, long systemdPid) {
        this.script = script;
        this.runDir = runDir;
        this.name = name;
        this.address = address;
        this.systemdPid = systemdPid;
    }

    public String name() {
        return name;
    }

    public String address() {
        return address;
    }

    /** The host's systemd as seen from outside (SIGKILL to it ends the whole host). */
    public long systemdPid() {
        return systemdPid;
    }

    /** The host's own dir in the run dir (etcd-data/, default/, unit-dir/, console.log, ...). */
    public Path hostDir() {
        return runDir.resolve("hosts").resolve(name);
    }

    /**
     * Runs argv inside the host as root (no shell: pass {@code "sh", "-c", "..."} for one). The timeout is
     * enforced inside the host; a command that runs out of time ends with {@link ExecResult#TIMED_OUT}.
     */
    public ExecResult exec(Duration timeout, String... argv) {
        List<String> args = new ArrayList<>(List.of("exec", runDir.toString(), name,
                "--timeout", Long.toString(Math.max(1, timeout.toSeconds())), "--"));
        args.addAll(List.of(argv));
        ExecResult result = script.run(timeout, args);
        return new ExecResult(List.of(argv), result.exitCode(), result.stdout(), result.stderr());
    }

    /** {@link #exec} that throws with the command's output unless it exits 0. */
    public ExecResult execOk(Duration timeout, String... argv) {
        return exec(timeout, argv).requireOk();
    }

    /** {@code systemctl ARGS} inside the host (60 s). */
    public ExecResult systemctl(String... args) {
        String[] argv = new String[args.length + 1];
        argv[0] = "systemctl";
        System.arraycopy(args, 0, argv, 1, args.length);
        return exec(SYSTEMCTL_TIMEOUT, argv);
    }

    /** {@code systemctl is-active UNIT} inside the host: active, inactive, failed, activating, ... */
    public String unitState(String unit) {
        return systemctl("is-active", unit).stdout().strip();
    }

    /** The unit's journal inside the host (for failure messages). */
    public String journal(String unit) {
        return exec(Duration.ofSeconds(30), "journalctl", "--no-pager", "-u", unit).stdout();
    }

    /**
     * Where a path inside the host lies on the real machine, for the dirs the host has its own copy of:
     * {@code /var/lib/etcd}, {@code /etc/default}, {@code /etc/systemd/system}, {@code /etc/etcd-rescue},
     * {@code /var/lib/etcd-rescue-agent}, {@code /opt} (and anything below them). Valid after the host is
     * down, until the testbed is closed.
     */
    public Path hostPath(String pathInsideHost) {
        Path inside = Path.of(pathInsideHost).normalize();
        if (!inside.isAbsolute()) {
            throw new IllegalArgumentException("not an absolute path: " + pathInsideHost);
        }
        for (Map.Entry<String, String> bound : BOUND_DIRS.entrySet()) {
            Path mountPoint = Path.of(bound.getKey());
            if (inside.startsWith(mountPoint)) {
                return hostDir().resolve(bound.getValue()).resolve(mountPoint.relativize(inside).toString());
            }
        }
        throw new IllegalArgumentException(pathInsideHost + " is not in a dir the host has its own copy of "
                + BOUND_DIRS.keySet() + ": use livePath() while the host runs");
    }

    /**
     * Any path as the running host sees it (through /proc/PID/root), including its private /run and /tmp.
     * Valid only while the host runs.
     */
    public Path livePath(String pathInsideHost) {
        if (!pathInsideHost.startsWith("/")) {
            throw new IllegalArgumentException("not an absolute path: " + pathInsideHost);
        }
        return Path.of("/proc/" + systemdPid + "/root" + pathInsideHost);
    }

    /** Writes a file inside the host (root-owned, 0644), creating parent dirs. */
    public void writeFile(String pathInsideHost, String content) {
        Path target = resolveForAccess(pathInsideHost);
        try {
            Files.createDirectories(target.getParent());
            Files.writeString(target, content, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + pathInsideHost + " on " + name, e);
        }
    }

    public String readFile(String pathInsideHost) {
        try {
            return Files.readString(resolveForAccess(pathInsideHost), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + pathInsideHost + " on " + name, e);
        }
    }

    private Path resolveForAccess(String pathInsideHost) {
        try {
            return hostPath(pathInsideHost);
        } catch (IllegalArgumentException notBound) {
            return livePath(pathInsideHost);
        }
    }

    @Override
    public String toString() {
        return name + "@" + address;
    }
}
