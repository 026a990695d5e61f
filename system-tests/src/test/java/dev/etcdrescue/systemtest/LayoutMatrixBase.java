package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.Pem;
import dev.etcdrescue.pki.TlsContexts;
import dev.etcdrescue.systemtest.testbed.EtcdVersion;
import dev.etcdrescue.systemtest.testbed.Layout;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The layout matrix (issue 17): for one host layout at a time, an old 3-member cluster laid out that way on
 * three testbed hosts loses two members for good, {@code etcd-rescue recover} runs, and the test looks at what
 * runs afterwards: the new member's etcd process on every host ({@link RunningEtcd}: cmdline, environ, limits),
 * the keys, and the old member's files, which must not have changed by a byte.
 *
 * <p>One testbed per class: the hosts, their agents and their etcd CA serve every layout of the class in
 * turn; {@link #reset()} ends both clusters and removes every file a layout or a recovery left before the
 * next layout is laid out. Hosts run etcd 3.5.16 (etcdutl, /usr/local/bin/etcd) and have a /var/lib of their
 * own, so the layouts whose old data dir is /var/lib/etcd itself restore into /var/lib/etcd-new, which the
 * agents' {@code allowed_data_roots} admit.
 */
abstract class LayoutMatrixBase {
    static final String NEW_UNIT = "etcd_new";
    static final int NEW_CLIENT_PORT = 22379;
    static final int NEW_PEER_PORT = 22380;
    static final List<String> ALLOWED_DATA_ROOTS = List.of("/var/lib/etcd", "/var/lib");
    /**
     * Seconds the new members get to become active, and verify to find them healthy: a start here takes 2 to 10 s,
     * and a unit that restarts a failing etcd (Restart=on-failure) stays "activating" until the timeout (120 s by
     * default), which a layout the agent gets wrong must not cost.
     */
    static final String START_TIMEOUT = "45";
    static final String VERIFY_TIMEOUT = "60";
    private static final int KEYS = 200;
    private static final Duration SHORT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    Testbed testbed;
    Path work;
    Path pki;
    Path etcdClientDir;
    CertificateAuthority etcdCa;
    /** The run dir of the last recovery, for resume and rollback. */
    Path lastRun;
    private int runs;

    /** The hosts' name prefix: distinct per class, so two classes' logs never mix up hosts. */
    abstract String hostPrefix();

    @BeforeAll
    void threeHostsWithAgents() throws Exception {
        long t0 = System.nanoTime();
        testbed = Testbed.create(3, Testbed.Options.defaults().withEtcd(EtcdVersion.V3_5_16).withHostPrefix(hostPrefix()));
        work = Files.createTempDirectory("etcd-rescue-" + hostPrefix() + "-");
        pki = work.resolve("pki");
        testbed.privateVarLib();
        testbed.installAgents(pki, ALLOWED_DATA_ROOTS);
        etcdCa = CertificateAuthority.create("etcd-rescue layout matrix etcd CA", Duration.ofDays(1));
        etcdClientDir = work.resolve("etcd-client");
        Files.createDirectories(etcdClientDir);
        // The operator's etcd client certificate (etcd takes CN=root as the user; auth stays off here).
        IssuedCertificate client = etcdCa.issueEtcdClient("root", Duration.ofDays(1));
        Files.writeString(etcdClientDir.resolve("ca.pem"), Pem.toPem(etcdCa.certificate()));
        Files.writeString(etcdClientDir.resolve("client.pem"), Pem.toPem(client.certificate()));
        Files.writeString(etcdClientDir.resolve("client-key.pem"), Pem.toPem(client.privateKey()));
        System.out.printf("%s: testbed with agents ready in %.1fs%n", hostPrefix(), (System.nanoTime() - t0) / 1e9);
    }

    @AfterAll
    void tearDown() throws Exception {
        if (testbed != null) {
            testbed.close();
        }
        if (work != null) {
            Trees.delete(work);
        }
    }

    List<TestHost> hosts() {
        return testbed.hosts();
    }

    TestHost survivor() {
        return testbed.host(2);
    }

    // ---- one layout ----

    /** What a layout's old cluster held before the recovery. */
    record OldState(Map<String, String> keys, Map<String, Map<String, String>> files) {}

    /**
     * Resets the hosts, lays {@code layout} out and starts its old cluster, writes the keys, fingerprints the old
     * member's files on every host, then kills the members of hosts 0 and 1 for good (host 2 survives).
     */
    OldState oldClusterLosesQuorum(Layout layout) throws Exception {
        reset();
        long t0 = System.nanoTime();
        layout.start(hosts(), "old-" + layout.shortName(), etcdCa);
        assertOldMembersRunTheTuning(layout);
        Map<String, String> keys = writeKeys(layout, URI.create(layout.clientUrl(survivor())), "/matrix/" + layout.shortName() + "/");
        Map<String, Map<String, String>> files = new LinkedHashMap<>();
        for (TestHost h : hosts()) {
            files.put(h.name(), fingerprint(h, layout));
        }
        testbed.killEtcdPermanently(testbed.host(0));
        testbed.killEtcdPermanently(testbed.host(1));
        System.out.printf("%s: old cluster up, %d keys written, 2 members killed in %.1fs%n", layout, keys.size(),
                (System.nanoTime() - t0) / 1e9);
        return new OldState(keys, files);
    }

    /**
     * The layout is what it claims before anything is recovered: each old member's etcd (read from /proc as the new
     * ones will be) runs with its name, data dir and the operator's tuning, from wherever the layout keeps them.
     * This also shows that {@link RunningEtcd} reads every layout's shape (flags, YAML, wrappers) right.
     */
    void assertOldMembersRunTheTuning(Layout layout) {
        SoftAssertions soft = new SoftAssertions();
        for (TestHost h : hosts()) {
            RunningEtcd etcd = RunningEtcd.of(h, "etcd");
            Map<String, String> config = etcd.effectiveConfig();
            Map<String, String> expected = new TreeMap<>(Map.of("name", layout.memberName(hosts(), h), "data-dir", layout.oldDataDir(),
                    "listen-client-urls", layout.clientUrl(h), "quota-backend-bytes", Long.toString(Layout.QUOTA_BACKEND_BYTES),
                    "heartbeat-interval", Integer.toString(Layout.HEARTBEAT_MS), "election-timeout", Integer.toString(Layout.ELECTION_MS),
                    "snapshot-count", Integer.toString(Layout.SNAPSHOT_COUNT)));
            Map<String, String> actual = new TreeMap<>();
            expected.keySet().forEach(k -> actual.put(k, config.getOrDefault(k, "<unset>")));
            soft.assertThat(actual).as("the old member of %s in layout %s: %s", h.name(), layout, etcd.describe()).isEqualTo(expected);
            soft.assertThat(etcd.flagAndVariableConflicts()).as("old member of %s", h.name()).isEmpty();
            soft.assertThat(etcd.configFile().isPresent()).as("old member of %s runs from a --config-file", h.name())
                    .isEqualTo(layout == Layout.CONFIG_FILE);
            long cap = hardOpenFilesLimit(h);
            layout.maxOpenFiles().ifPresent(n -> soft.assertThat(etcd.maxOpenFiles()).as("Max open files of the old member of %s", h.name())
                    .isEqualTo(Long.toString(Math.min(n, cap))));
        }
        soft.assertAll();
    }

    /** {@code etcd-rescue recover} of the layout's inventory, in a run dir of its own (kept in {@link #lastRun}). */
    Cli.Result recover(Layout layout) throws Exception {
        Path runs = newRunsDir(layout);
        long t0 = System.nanoTime();
        Cli.Result r = Cli.etcdRescue("recover", "-i", inventory(layout).toString(), "--work-dir", runs.toString(),
                "--start-timeout", START_TIMEOUT, "--verify-timeout", VERIFY_TIMEOUT);
        System.out.printf("%s: recover exited %d after %.1fs%n", layout, r.exitCode(), (System.nanoTime() - t0) / 1e9);
        lastRun = onlyRunIn(runs);
        return r;
    }

    /** Exit 0, or a failure with the output and the tail of each host's etcd_new journal (why a member did not start). */
    void assertSucceeded(String what, Cli.Result r) {
        if (r.exitCode() == 0) {
            return;
        }
        StringBuilder journals = new StringBuilder();
        for (TestHost h : hosts()) {
            List<String> lines = List.of(h.journal(NEW_UNIT).split("\n"));
            // etcd's own verdict (a fatal flag/variable conflict, a port in use) if it gave one, else the last lines.
            List<String> telling = lines.stream().filter(l -> l.contains("\"level\":\"fatal\"") || l.contains("\"level\":\"error\""))
                    .limit(3).toList();
            journals.append("\n--- ").append(h.name()).append(": journalctl -u ").append(NEW_UNIT).append('\n').append(String.join("\n",
                    telling.isEmpty() ? lines.subList(Math.max(0, lines.size() - 4), lines.size()) : telling));
        }
        assertThat(r.exitCode()).as("%s:%n%s%s", what, r.all(), journals).isZero();
    }

    Path newRunsDir(Layout layout) {
        return work.resolve("runs-" + (++runs) + "-" + layout.shortName());
    }

    static Path onlyRunIn(Path runs) throws IOException {
        if (!Files.isDirectory(runs)) {
            return null;
        }
        try (Stream<Path> dirs = Files.list(runs)) {
            return dirs.filter(Files::isDirectory).findFirst().orElse(null);
        }
    }

    /**
     * Everything the matrix asks of a recovered layout, every host checked (soft assertions: one run reports
     * every difference): etcd_new runs; its etcd has the plan's name, data dir, URLs, initial cluster and state
     * {@code new}; the operator's tuning of the old layout (quota, timers, snapshot count, file limit); no
     * setting given both as a flag and as an ETCD_* variable and no --config-file; every key readable from every
     * new member; the old member's files byte-identical.
     */
    void assertRecovered(Layout layout, OldState before) throws Exception {
        SoftAssertions soft = new SoftAssertions();
        String initialCluster = hosts().stream()
                .map(h -> layout.memberName(hosts(), h) + "=" + newPeerUrl(layout, h)).sorted().collect(Collectors.joining(","));
        for (TestHost h : hosts()) {
            soft.assertThat(h.unitState(NEW_UNIT)).as("%s on %s", NEW_UNIT, h.name()).isEqualTo("active");
            RunningEtcd etcd;
            try {
                etcd = RunningEtcd.of(h, NEW_UNIT);
            } catch (AssertionError | RuntimeException e) {
                soft.fail(e.getMessage());
                continue;
            }
            System.out.println(layout + ": " + etcd.describe());
            String what = layout + ", " + h.name() + "'s new member (" + etcd.describe() + ")\n";
            soft.assertThat(etcd.configFile()).as("--config-file of %s", what).isEmpty();
            soft.assertThat(etcd.flagAndVariableConflicts()).as("settings both a flag and an ETCD_* variable, %s", what).isEmpty();
            Map<String, String> config = etcd.effectiveConfig();
            Map<String, String> planned = new TreeMap<>();
            planned.put("name", layout.memberName(hosts(), h));
            planned.put("data-dir", layout.newDataDir());
            planned.put("listen-peer-urls", newPeerUrl(layout, h));
            planned.put("initial-advertise-peer-urls", newPeerUrl(layout, h));
            planned.put("listen-client-urls", newClientUrl(layout, h));
            planned.put("advertise-client-urls", newClientUrl(layout, h));
            planned.put("initial-cluster-state", "new");
            planned.put("quota-backend-bytes", Long.toString(Layout.QUOTA_BACKEND_BYTES));
            planned.put("heartbeat-interval", Integer.toString(Layout.HEARTBEAT_MS));
            planned.put("election-timeout", Integer.toString(Layout.ELECTION_MS));
            planned.put("snapshot-count", Integer.toString(Layout.SNAPSHOT_COUNT));
            List<String> differences = new ArrayList<>();
            planned.forEach((k, v) -> {
                if (!v.equals(config.get(k))) {
                    differences.add(k + ": expected " + v + ", runs with " + config.getOrDefault(k, "etcd's default (unset)"));
                }
            });
            soft.assertThat(differences).as("settings of %s", what).isEmpty();
            String cluster = config.getOrDefault("initial-cluster", "<unset>");
            soft.assertThat(Stream.of(cluster.split(",")).sorted().collect(Collectors.joining(",")))
                    .as("initial-cluster of %s", what).isEqualTo(initialCluster);
            long cap = hardOpenFilesLimit(h);
            layout.maxOpenFiles().ifPresent(n -> soft.assertThat(etcd.maxOpenFiles())
                    .as("Max open files of %s (the unit's %d, capped at the host's hard limit %d)", what, n, cap)
                    .isEqualTo(Long.toString(Math.min(n, cap))));
        }
        for (TestHost h : hosts()) {
            try {
                soft.assertThat(readKeys(layout, URI.create(newClientUrl(layout, h)), "/matrix/" + layout.shortName() + "/"))
                        .as("keys read back from %s's new member", h.name()).isEqualTo(new TreeMap<>(before.keys()));
            } catch (Exception e) {
                soft.fail("cannot read the keys from " + h.name() + "'s new member: " + e);
            }
        }
        assertOldFilesUnchanged(soft, layout, before);
        soft.assertAll();
    }

    void assertOldFilesUnchanged(SoftAssertions soft, Layout layout, OldState before) {
        for (TestHost h : hosts()) {
            soft.assertThat(fingerprint(h, layout)).as("the old member's files on %s (SHA-256 each)", h.name())
                    .isEqualTo(before.files().get(h.name()));
        }
    }

    /** The hard limit of open files the host's systemd runs under: no unit of it gets more. */
    static long hardOpenFilesLimit(TestHost h) {
        try {
            String limits = Files.readString(h.livePath("/proc/1/limits"));
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^Max open files\\s+\\S+\\s+(\\S+)").matcher(limits);
            if (!m.find()) {
                throw new IllegalStateException("no 'Max open files' in " + h.name() + "'s /proc/1/limits:\n" + limits);
            }
            return m.group(1).equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(m.group(1));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String newClientUrl(Layout layout, TestHost h) {
        return layout.scheme() + "://" + h.address() + ":" + NEW_CLIENT_PORT;
    }

    static String newPeerUrl(Layout layout, TestHost h) {
        return layout.scheme() + "://" + h.address() + ":" + NEW_PEER_PORT;
    }

    // ---- inventory ----

    /** The recovery's inventory for the layout: hosts, survivors' client URLs, the layout's new data dir, TLS where the layout has it. */
    Path inventory(Layout layout) throws IOException {
        StringBuilder y = new StringBuilder();
        y.append("all:\n  vars:\n    agent_port: 7443\n    tls_dir: ").append(pki).append('\n');
        y.append("  children:\n    ").append(layout.shortName()).append(":\n      vars:\n");
        y.append("        cluster_token: ").append(layout.shortName()).append("-restored\n");
        y.append("        snapshot_endpoints:\n");
        for (TestHost h : hosts()) {
            y.append("          - ").append(layout.clientUrl(h)).append('\n');
        }
        y.append("        old_unit: etcd\n        new_unit: ").append(NEW_UNIT).append('\n');
        y.append("        data_dir: ").append(layout.newDataDir()).append('\n');
        y.append("        peer_port: ").append(NEW_PEER_PORT).append("\n        client_port: ").append(NEW_CLIENT_PORT).append('\n');
        // No timers, quota or snapshot count here: they must come from the old layout.
        if (layout.tls()) {
            y.append("        scheme: https\n");
            y.append("        etcd_ca_file: ").append(layout.caFile()).append('\n');
            y.append("        etcd_client_ca: ").append(etcdClientDir.resolve("ca.pem")).append('\n');
            y.append("        etcd_client_cert: ").append(etcdClientDir.resolve("client.pem")).append('\n');
            y.append("        etcd_client_key: ").append(etcdClientDir.resolve("client-key.pem")).append('\n');
        }
        y.append("      hosts:\n");
        for (TestHost h : hosts()) {
            y.append("        ").append(h.name()).append(":\n          address: ").append(h.address()).append('\n');
            if (!layout.memberName(hosts(), h).equals(h.name())) {
                y.append("          etcd_name: ").append(layout.memberName(hosts(), h)).append('\n');
            }
            if (layout.tls()) {
                y.append("          etcd_cert_file: ").append(layout.certFile(h)).append('\n');
                y.append("          etcd_key_file: ").append(layout.keyFile(h)).append('\n');
            }
        }
        return Inventories.write(work, layout.shortName() + ".yaml", y.toString());
    }

    // ---- keys ----

    Map<String, String> writeKeys(Layout layout, URI endpoint, String prefix) throws Exception {
        Map<String, String> written = new TreeMap<>();
        try (Client c = client(layout, endpoint)) {
            List<Op> ops = new ArrayList<>();
            for (int i = 0; i < KEYS; i++) {
                String key = String.format("%s%04d", prefix, i);
                String value = layout + "-" + i + "-" + Long.toHexString(key.hashCode() * 31L + i);
                written.put(key, value);
                ops.add(Op.put(bytes(key), bytes(value), PutOption.DEFAULT));
                if (ops.size() == 100) {
                    c.getKVClient().txn().Then(ops.toArray(Op[]::new)).commit().get(30, TimeUnit.SECONDS);
                    ops.clear();
                }
            }
        }
        return written;
    }

    Map<String, String> readKeys(Layout layout, URI endpoint, String prefix) throws Exception {
        return readKeys(layout, endpoint, prefix, false);
    }

    /** Serializable: the member answers from its own copy, as a survivor without quorum still can. */
    Map<String, String> readKeys(Layout layout, URI endpoint, String prefix, boolean serializable) throws Exception {
        try (Client c = client(layout, endpoint)) {
            Map<String, String> out = new TreeMap<>();
            for (KeyValue kv : c.getKVClient().get(bytes(prefix), GetOption.builder().isPrefix(true).withSerializable(serializable).build())
                    .get(20, TimeUnit.SECONDS).getKvs()) {
                out.put(kv.getKey().toString(StandardCharsets.UTF_8), kv.getValue().toString(StandardCharsets.UTF_8));
            }
            return out;
        }
    }

    private Client client(Layout layout, URI endpoint) throws IOException {
        var builder = Client.builder().endpoints(endpoint).connectTimeout(Duration.ofSeconds(5)).retryMaxDuration(Duration.ofSeconds(20));
        if (layout.tls()) {
            builder.authority(endpoint.getHost() + ":" + endpoint.getPort()).sslContext(TlsContexts.etcdClient(
                    etcdClientDir.resolve("client.pem"), etcdClientDir.resolve("client-key.pem"), etcdClientDir.resolve("ca.pem")));
        }
        return builder.build();
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    // ---- the old member's files ----

    /** SHA-256 of each of the layout's old files and of every file in the old unit's drop-in dirs, by path. */
    static Map<String, String> fingerprint(TestHost h, Layout layout) {
        Map<String, String> hashes = new TreeMap<>();
        List<String> paths = new ArrayList<>(layout.oldFiles());
        for (String dir : List.of("/etc/systemd/system/etcd.service.d", "/lib/systemd/system/etcd.service.d")) {
            Path live = h.livePath(dir);
            if (Files.isDirectory(live)) {
                try (Stream<Path> files = Files.list(live)) {
                    files.forEach(f -> {
                        if (!paths.contains(dir + "/" + f.getFileName())) {
                            paths.add(dir + "/" + f.getFileName());
                        }
                    });
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        for (String path : paths) {
            Path live = h.livePath(path);
            try {
                hashes.put(path, Files.exists(live) ? sha256(Files.readAllBytes(live)) : "<missing>");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + path + " on " + h.name(), e);
            }
        }
        return hashes;
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- between layouts ----

    /**
     * Back to hosts with only their agents: both members stopped, every file a layout or a recovery wrote
     * removed (units, drop-ins, env and config files, certificates, data dirs, what was moved aside), and a
     * claim that a failed recovery left on an agent dropped (the agent restarted without it), so each layout
     * starts from the same hosts whatever the previous one did.
     */
    void reset() throws Exception {
        for (TestHost h : hosts()) {
            h.execOk(SHORT, "sh", "-c", RESET);
        }
        List<TestHost> claimed = new ArrayList<>();
        for (TestHost h : hosts()) {
            Path claim = h.hostPath("/var/lib/etcd-rescue-agent/claim.json");
            if (Files.exists(claim)) {
                claimed.add(h);
                h.systemctl("stop", AgentFailpoints.AGENT).requireOk();
                Files.move(claim, claim.resolveSibling("claim.json.reset-" + System.nanoTime()));
                h.systemctl("start", AgentFailpoints.AGENT).requireOk();
            }
        }
        for (TestHost h : claimed) {
            AgentFailpoints.waitListening(h);
        }
        if (!claimed.isEmpty()) {
            System.out.println("reset: dropped the claims a failed recovery left on " + claimed);
        }
    }

    private static final String RESET = String.join("\n",
            "systemctl stop etcd_new.service etcd.service 2>/dev/null",
            "systemctl disable etcd_new.service 2>/dev/null",
            "rm -rf /run/systemd/system/etcd.service.d /run/systemd/system/etcd_new.service.d",
            "rm -rf /etc/systemd/system/etcd.service /etc/systemd/system/etcd.service.d /etc/systemd/system/etcd_new.service"
                    + " /etc/systemd/system/etcd*.etcd-rescue-* /etc/systemd/system/etcd*.rolled-back-*",
            "rm -rf /etc/default/etcd /etc/default/etcd_new /etc/default/etcd*.etcd-rescue-* /etc/default/etcd*.rolled-back-*",
            "rm -rf /etc/etcd /etc/etcd.env /etc/etcd.env.* /etc/ssl/etcd /opt/bin",
            "find /var/lib/etcd -mindepth 1 -maxdepth 1 -exec rm -rf {} +",
            "rm -rf /var/lib/etcd-new /var/lib/etcd-new.* /var/lib/etcd.*",
            "rm -f /run/testbed-docker.log",
            "systemctl daemon-reload && systemctl reset-failed",
            "for u in etcd etcd_new; do s=$(systemctl is-active $u); case $s in active|activating|deactivating)"
                    + " echo \"$u still $s\" >&2; exit 1;; esac; done",
            "");

    // ---- interrupted runs ----

    /**
     * Starts {@code etcd-rescue ARGS} and SIGKILLs it as soon as the journal of its run (the only one in
     * {@code runs}) records that {@code phase} started; returns that run's dir.
     */
    Path killWhenPhaseStarts(Path runs, String phase, String... args) throws Exception {
        List<String> argv = new ArrayList<>();
        argv.add(Cli.projectRoot().resolve("deploy/bin/etcd-rescue").toString());
        argv.addAll(List.of(args));
        Files.createDirectories(runs);
        Path log = Files.createTempFile(work, "etcd-rescue-", ".out");
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        try {
            while (true) {
                Path run = onlyRunIn(runs);
                if (run != null && started(run.resolve("journal.jsonl"), phase)) {
                    p.destroyForcibly();
                    p.waitFor(30, TimeUnit.SECONDS);
                    System.out.println("$ etcd-rescue " + String.join(" ", args) + "  -> SIGKILL in " + phase + "\n" + Files.readString(log));
                    return run;
                }
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    throw new AssertionError("etcd-rescue " + String.join(" ", args) + " never started phase " + phase
                            + (p.isAlive() ? " in 5 minutes" : " (exit " + p.exitValue() + ")") + ":\n" + Files.readString(log));
                }
                Thread.sleep(5);
            }
        } finally {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static boolean started(Path journal, String phase) throws IOException {
        if (!Files.exists(journal)) {
            return false;
        }
        for (String raw : Files.readAllLines(journal, StandardCharsets.UTF_8)) {
            try {
                JsonNode line = JSON.readTree(raw);
                if ("phase-started".equals(line.path("type").asText()) && phase.equals(line.path("phase").asText())) {
                    return true;
                }
            } catch (IOException torn) {
                return false;
            }
        }
        return false;
    }

    /** What systemctl is-active says of a unit that runs nothing (or that systemd no longer knows). */
    static Set<String> stopped() {
        return Set.of("inactive", "failed", "unknown");
    }
}
