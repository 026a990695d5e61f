package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.systemtest.testbed.PacketFilter;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * What the network fault classes share ({@link NetworkFaultsTest}, {@link NetworkFaultsMidRunTest}): one testbed per
 * class of three hosts with etcd 3.4, host 3 the survivor of the old cluster holding 2,000 keys of about 4 KiB (a
 * snapshot of 6.3 MB, so that a transfer is under way long enough to cut) and a backup of it; one nftables table
 * ({@link PacketFilter}) whose rules are removed after each scenario and with the table at the end, also when a
 * scenario fails. Each scenario recovers into its own unit, data dir and ports ({@link Target}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class NetworkFaultsBase {
    protected static final int AGENT_PORT = 7443;
    /** The old cluster's client port on every host. */
    protected static final int OLD_CLIENT_PORT = 2379;
    protected static final String STAGING = "/var/lib/etcd-rescue-agent/staging";
    protected static final String KEYS = "/netf/";
    protected Testbed testbed;
    protected PacketFilter filter;
    protected Path work;
    protected Path pki;
    protected Path backup;
    protected Map<String, String> written;

    /** The testbed's host name prefix: each class its own, so that two classes' leftovers never mix. */
    protected abstract String hostPrefix();

    /** Runs after the hosts boot, before the agents are installed: drop-ins written here are armed by the agents' first start. */
    protected void beforeAgentsStart() {
    }

    @BeforeAll
    void threeHostsOneSurvivorAndABackup() throws Exception {
        List<String> leftovers = PacketFilter.gc();
        if (!leftovers.isEmpty()) {
            System.out.println("removed packet filters of ended runs: " + leftovers);
        }
        filter = PacketFilter.open();
        testbed = Testbed.create(3, Testbed.Options.defaults().withHostPrefix(hostPrefix()));
        work = Files.createTempDirectory("etcd-rescue-" + hostPrefix() + "-");
        pki = work.resolve("pki");
        beforeAgentsStart();
        testbed.installAgents(pki);
        testbed.startOldCluster("old-" + hostPrefix());
        written = new TreeMap<>(EtcdData.load(URI.create(Testbed.oldClientUrl(testbed.host(2))), KEYS, 2000, 5, 4096));
        backup = work.resolve("backup.db");
        Cli.Result save = Cli.etcdRescue("snapshot", "save", "--endpoints", Testbed.oldClientUrl(testbed.host(2)), backup.toString());
        assertThat(save.exitCode()).as(save.all()).isZero();
        // host 3 stays the survivor (the scenarios that take the snapshot from it need it); the others lost their members.
        testbed.killEtcdPermanently(testbed.host(0));
        testbed.killEtcdPermanently(testbed.host(1));
    }

    @AfterEach
    void noRuleOutlivesItsScenario() {
        if (filter != null && !filter.rules().isEmpty()) {
            System.out.println("removing rules a failed scenario left: " + filter.rules());
            filter.remove(filter.rules());
        }
    }

    @AfterAll
    void tearDown() {
        try {
            if (filter != null) {
                filter.close();
                assertThat(PacketFilter.tables()).as("this test's nftables table is gone").doesNotContain(filter.table());
            }
        } finally {
            if (testbed != null) {
                testbed.close();
            }
        }
    }

    /** Two cores: the survivor's member stopped for good once no scenario needs it, so it does not compete with the new ones. */
    protected void stopTheSurvivor() {
        if (testbed.host(2).unitState("etcd").equals("active")) {
            testbed.killEtcdPermanently(testbed.host(2));
        }
    }

    /** Files in the staging dir of {@code h} (names only). */
    protected List<String> staged(TestHost h) throws IOException {
        try (Stream<Path> files = Files.list(h.hostPath(STAGING))) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** The host's cgroup (testbed/testbed.sh names it), which the packets its processes send are told by. */
    protected String cgroup(TestHost h) {
        return testbed.cgroupPrefix() + "-" + h.name();
    }

    /** One scenario's target: its own unit, data dir and ports. */
    protected record Target(String cluster, String unit, String dataDir, int clientPort, int peerPort, int fencePort) {
        static Target of(String letter, int portBase) {
            return new Target("n" + letter, "etcd_" + letter, "/var/lib/etcd/" + letter + ".etcd", portBase + 379,
                    portBase + 380, portBase + 10_379);
        }
    }

    protected Path inventory(Target t, String source) throws IOException {
        String yaml = Inventories.seedLike(t.cluster(), testbed.hosts(), pki, source)
                .replace("new_unit: etcd_new\n", "new_unit: " + t.unit() + "\n")
                .replace("data_dir: /var/lib/etcd/new.etcd\n", "data_dir: " + t.dataDir() + "\n")
                .replace("peer_port: 22380\n", "peer_port: " + t.peerPort() + "\n")
                .replace("client_port: 22379\n", "client_port: " + t.clientPort() + "\n");
        return Inventories.write(work, t.cluster() + ".yaml", yaml);
    }

    protected String[] recover(Target t, String source, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("recover", "-i", inventory(t, source).toString(), "--work-dir",
                work.resolve("runs-" + t.cluster()).toString(), "--fence-port", Integer.toString(t.fencePort()), "--fence", "always"));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    protected Path runDir(Target t) throws IOException {
        try (Stream<Path> dirs = Files.list(work.resolve("runs-" + t.cluster()))) {
            return dirs.findFirst().orElseThrow();
        }
    }

    /**
     * What a recovery must leave byte-identical on each host: the env files and units (every file of
     * /etc/default and /etc/systemd/system), and the data dirs of members that are not running.
     */
    protected Map<String, Map<String, String>> untouchable(List<TestHost> stopped) {
        Map<String, Map<String, String>> out = new LinkedHashMap<>();
        for (TestHost h : testbed.hosts()) {
            Map<String, String> f = new TreeMap<>();
            Trees.fingerprint(h.hostPath("/etc/default")).forEach((k, v) -> f.put("/etc/default/" + k, v));
            Trees.fingerprint(h.hostPath("/etc/systemd/system")).forEach((k, v) -> f.put("/etc/systemd/system/" + k, v));
            if (stopped.contains(h)) {
                Trees.fingerprint(h.hostPath("/var/lib/etcd/default")).forEach((k, v) -> f.put("/var/lib/etcd/default/" + k, v));
            }
            out.put(h.name(), f);
        }
        return out;
    }

    /** {@code now} equals {@code before} once what a rollback moved aside (renamed, never deleted) is set apart. */
    protected static void assertSameApartFromSetAside(Map<String, Map<String, String>> before, Map<String, Map<String, String>> now,
                                                    Target t) {
        for (var e : before.entrySet()) {
            Map<String, String> kept = new TreeMap<>(now.get(e.getKey()));
            // Every file of before must be there unchanged; a new one only where the run set something aside.
            kept.keySet().removeIf(k -> !e.getValue().containsKey(k)
                    && (k.contains("rolled-back") || k.contains(".etcd-rescue-") || k.contains(t.unit())));
            assertThat(kept).as("env files, units and stopped data dirs on %s", e.getKey()).isEqualTo(e.getValue());
        }
    }

    /** Nothing of {@code t} where etcd or systemd would read it, and no temporary file there, on any host. */
    protected void assertNothingOfTarget(Target t) throws IOException {
        for (TestHost h : testbed.hosts()) {
            assertThat(h.hostPath(t.dataDir())).as("%s on %s", t.dataDir(), h.name()).doesNotExist();
            assertThat(h.hostPath("/etc/default/" + t.unit())).as("env file on %s", h.name()).doesNotExist();
            assertThat(h.hostPath("/etc/systemd/system/" + t.unit() + ".service")).as("unit on %s", h.name()).doesNotExist();
            for (String dir : List.of("/etc/default", "/etc/systemd/system", "/var/lib/etcd")) {
                try (Stream<Path> files = Files.list(h.hostPath(dir))) {
                    assertThat(files.map(p -> p.getFileName().toString())).as("temp or partial files in %s on %s", dir, h.name())
                            .noneMatch(n -> n.contains(".tmp-") || n.endsWith(".part"));
                }
            }
        }
    }

    protected void assertRecovered(Target t, Cli.Result r) throws Exception {
        assertThat(r.exitCode()).as(r.all()).isZero();
        assertThat(r.stdout()).contains("RECOVERED");
        assertThat(EtcdData.readAll(URI.create("http://" + testbed.host(1).address() + ":" + t.clientPort()), KEYS))
                .isEqualTo(written);
        // Two cores: stop the recovered members so the next scenario's cluster does not compete with them.
        for (TestHost h : testbed.hosts()) {
            h.systemctl("stop", t.unit());
        }
    }

    /** Transfer ids derive from the snapshot's digest: a staged copy from an earlier scenario would make the next send nothing. */
    protected void clearStaging() throws IOException {
        for (TestHost h : testbed.hosts()) {
            try (Stream<Path> files = Files.list(h.hostPath(STAGING))) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    Files.delete(p);
                }
            }
        }
    }
}
