package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import dev.etcdrescue.testsupport.S3Proxy;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Backups with a copy in S3-compatible object storage (a real s3proxy on the testbed's address block) and no peer copies:
 * the agent that takes each backup uploads it, reads it back and writes its manifest last; `backup list` and `backup verify`
 * show the copies in the store (through an agent: the coordinator holds no key for it); with etcd gone on every host and
 * every agent's backup dir gone too, `recover --from-backup latest` passes over the newest copy in the store (damaged there)
 * with the reason, and recovers every key from the one before it, which an agent downloads, checks and sends on.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class BackupsS3Test {
    private static final String DIR = "/var/lib/etcd-rescue-agent/backups";
    private static final String LOCATION = "s3://" + S3Proxy.BUCKET + "/etcd/";
    private Testbed testbed;
    private S3Proxy s3;
    private Path inventory;
    private Path work;
    private Map<String, String> written;

    @BeforeAll
    void clusterWithBackupsInObjectStorage() throws Exception {
        testbed = Testbed.create(3, Testbed.Options.defaults().withHostPrefix("bs3"));
        work = Files.createTempDirectory("etcd-rescue-backups-s3-");
        s3 = S3Proxy.start(Files.createDirectories(work.resolve("s3proxy")), testbed.addressBlock().address(200));
        testbed.startOldCluster("backups-s3");
        Path pki = work.resolve("pki");
        testbed.installAgents(pki);
        written = EtcdData.load(URI.create(Testbed.oldClientUrl(testbed.host(0))), "/registry/secrets/", 300, 11, 4096);
        String credentials = Files.readString(s3.credentialsFile(work));
        for (TestHost h : testbed.hosts()) {
            h.writeFile("/etc/etcd-rescue/s3-credentials", credentials);
            Files.setPosixFilePermissions(h.hostPath("/etc/etcd-rescue/s3-credentials"), PosixFilePermissions.fromString("rw-------"));
            String config = h.readFile("/etc/etcd-rescue/agent.yaml") + """
                    backup:
                      interval: PT15S
                      dir: %s
                      cluster: sierra
                      etcd: {endpoint: "%s"}
                      copies: 0
                      s3: {endpoint: "%s", bucket: %s, prefix: etcd, path_style: true, credentials_file: /etc/etcd-rescue/s3-credentials}
                    """.formatted(DIR, Testbed.oldClientUrl(h), s3.endpoint(), S3Proxy.BUCKET);
            h.writeFile("/etc/etcd-rescue/agent.yaml", config);
            h.systemctl("restart", "etcd-rescue-agent").requireOk();
        }
        inventory = Inventories.write(work, "inventory.yaml",
                Inventories.seedLike("sierra", testbed.hosts(), pki, Inventories.fromFile(work.resolve("unused.db"))));
    }

    @AfterAll
    void tearDown() throws InterruptedException {
        try {
            if (s3 != null) {
                s3.close();
            }
        } finally {
            if (testbed != null) {
                testbed.close();
            }
        }
    }

    /** The copies in the store, as `backup list` shows them: each once, however many agents list it. */
    private List<JsonNode> inStore() throws Exception {
        Cli.Result r = Cli.etcdRescue("backup", "list", "-i", inventory.toString(), "-o", "json");
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode h : new ObjectMapper().readTree(r.stdout()).get("hosts")) {
            for (JsonNode b : h.get("backups")) {
                if (b.hasNonNull("location")) {
                    out.add(b);
                }
            }
        }
        out.sort(Comparator.comparing(b -> Instant.parse(b.get("takenAt").asText())));
        return out;
    }

    @Test
    @Order(1)
    void eachBackupGoesToTheStoreAndListAndVerifyShowItThere() throws Exception {
        Instant until = Instant.now().plus(Duration.ofSeconds(100));
        List<JsonNode> stored = List.of();
        while (Instant.now().isBefore(until) && stored.size() < 2) {
            Thread.sleep(3000);
            stored = inStore();
        }
        assertThat(stored).as("two backups in the store within 100 s").hasSizeGreaterThanOrEqualTo(2);
        for (JsonNode b : stored) {
            assertThat(b.get("location").asText()).isEqualTo(LOCATION);
            assertThat(b.get("trusted").asBoolean()).as(b.toString()).isTrue();
            assertThat(b.get("cluster").asText()).isEqualTo("sierra");
            assertThat(b.get("totalKeys").asLong()).isGreaterThan(300);
            Path object = s3.blobs().resolve(S3Proxy.BUCKET).resolve("etcd/sierra/" + b.get("id").asText() + ".db.zst");
            assertThat(Files.size(object)).isEqualTo(b.get("fileSize").asLong());
        }

        Cli.Result table = Cli.etcdRescue("backup", "list", "-i", inventory.toString());
        assertThat(table.exitCode()).as(table.all()).isZero();
        assertThat(table.stdout()).contains(LOCATION + " (via ");
        Cli.Result verify = Cli.etcdRescue("backup", "verify", "-i", inventory.toString(), "--id", stored.get(0).get("id").asText());
        assertThat(verify.exitCode()).as(verify.all()).isZero();
        assertThat(verify.stdout()).containsPattern("\\Q" + LOCATION + " (via \\E[^|]*\\|[^|]*\\| ok: digests, signature, trailer, bbolt, HashKV");
        // The takers (the members that are not the leader) logged their uploads; the secret key never reaches a log line.
        long uploaders = 0;
        for (TestHost h : testbed.hosts()) {
            String journal = h.journal("etcd-rescue-agent");
            assertThat(journal).doesNotContain(S3Proxy.SECRET_KEY);
            uploaders += journal.contains("read back whole, manifest last") ? 1 : 0;
        }
        assertThat(uploaders).isPositive();
        for (TestHost h : testbed.hosts()) {
            String pid = h.systemctl("show", "-p", "MainPID", "--value", "etcd-rescue-agent").stdout().strip();
            String status = h.execOk(Duration.ofSeconds(10), "/bin/cat", "/proc/" + pid + "/status").stdout();
            System.out.printf("agent on %s after its backups and uploads: %s, %s%n", h.name(), field(status, "VmRSS"), field(status, "VmHWM"));
        }
    }

    private static String field(String status, String name) {
        return status.lines().filter(l -> l.startsWith(name + ":")).findFirst().orElse(name + ": ?").replaceAll("\\s+", " ");
    }

    @Test
    @Order(2)
    void withEtcdAndEveryBackupDirGoneRecoveryComesFromTheStore() throws Exception {
        for (TestHost h : testbed.hosts()) {
            testbed.killEtcdPermanently(h);
        }
        Thread.sleep(3000);
        for (TestHost h : testbed.hosts()) {
            if (Files.exists(h.hostPath(DIR))) {
                Files.move(h.hostPath(DIR), h.hostPath(DIR).resolveSibling("backups.lost-by-test"));
            }
        }
        List<JsonNode> stored = inStore();
        assertThat(stored).hasSizeGreaterThanOrEqualTo(2);
        String newest = stored.get(stored.size() - 1).get("id").asText();
        String previous = stored.get(stored.size() - 2).get("id").asText();
        Path damaged = s3.blobs().resolve(S3Proxy.BUCKET).resolve("etcd/sierra/" + newest + ".db.zst");
        byte[] bytes = Files.readAllBytes(damaged);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(damaged, bytes);

        Path runs = work.resolve("runs");
        Cli.Result r = Cli.etcdRescue("recover", "-i", inventory.toString(), "--from-backup", "latest", "--yes", "--work-dir", runs.toString());

        assertThat(r.exitCode()).as(r.all()).isZero();
        assertThat(r.stderr()).contains("sierra: restoring from backup " + newest, "the copy in " + LOCATION);
        assertThat(r.stdout()).contains("passed over " + newest + " in " + LOCATION + " (through ").contains("does not read back")
                .contains("holds backup " + previous + " and sends it to 2 host(s)");
        Map<String, String> restored = EtcdData.readAll(URI.create("http://" + testbed.host(1).address() + ":22379"), "/registry/secrets/");
        assertThat(restored).as("every key the backup held").isEqualTo(written);
        for (TestHost h : testbed.hosts()) {
            try (var staging = Files.list(h.hostPath("/var/lib/etcd-rescue-agent/staging"))) {
                assertThat(staging.map(p -> p.getFileName().toString())).as("no download left in staging").noneMatch(n -> n.startsWith("s3-"));
            }
        }
    }
}
