package dev.etcdrescue.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentConfigLoaderTest {
    private static final String DOCUMENTED = """
            host_name: lv-etcd-research-beta-0
            listen: 192.168.149.60:7443
            tls:
              ca: /etc/etcd-rescue/tls/ca.pem
              cert: /etc/etcd-rescue/tls/agent.pem
              key: /etc/etcd-rescue/tls/agent-key.pem
              coordinator_cn: etcd-rescue-coordinator
            state_dir: /var/lib/etcd-rescue-agent
            allowed_data_roots: [/var/lib/etcd]
            env_dir: /etc/default
            unit_dir: /etc/systemd/system
            base_unit_dirs: [/etc/systemd/system, /lib/systemd/system]
            tool_dirs: [/usr/local/bin, /usr/bin]
            backup_dirs: [/var/backups/etcd]
            max_claim_ttl: PT10M
            """;
    @TempDir
    Path dir;

    @Test
    void readsTheDocumentedExample() throws Exception {
        AgentConfig config = AgentConfigLoader.load(write(DOCUMENTED));

        assertThat(config.hostName()).isEqualTo("lv-etcd-research-beta-0");
        assertThat(config.listen().getPort()).isEqualTo(7443);
        assertThat(config.listen().getHostString()).isEqualTo("192.168.149.60");
        assertThat(config.tls().coordinatorCn()).contains("etcd-rescue-coordinator");
        assertThat(config.stagingDir()).isEqualTo(Path.of("/var/lib/etcd-rescue-agent/staging"));
        assertThat(config.maxClaimTtl()).isEqualTo(Duration.ofMinutes(10));
        assertThat(config.baseUnit()).isEqualTo("etcd");
        assertThat(config.systemctl()).isEqualTo(Path.of("/usr/bin/systemctl"));
        assertThat(config.listenText()).isEqualTo("192.168.149.60:7443");
        assertThat(config.tls().ca()).isEqualTo(Path.of("/etc/etcd-rescue/tls/ca.pem"));
        assertThat(config.tls().cert()).isEqualTo(Path.of("/etc/etcd-rescue/tls/agent.pem"));
        assertThat(config.tls().key()).isEqualTo(Path.of("/etc/etcd-rescue/tls/agent-key.pem"));
        assertThat(config.allowedDataRoots()).containsExactly(Path.of("/var/lib/etcd"));
        assertThat(config.envDir()).isEqualTo(Path.of("/etc/default"));
        assertThat(config.unitDir()).isEqualTo(Path.of("/etc/systemd/system"));
        assertThat(config.baseUnitDirs()).containsExactly(Path.of("/etc/systemd/system"), Path.of("/lib/systemd/system"));
        assertThat(config.toolDirs()).containsExactly(Path.of("/usr/local/bin"), Path.of("/usr/bin"));
        assertThat(config.backupDirs()).containsExactly(Path.of("/var/backups/etcd"));
        assertThat(config.restoreTimeout()).isEqualTo(Duration.ofMinutes(10));
        assertThat(config.commandTimeout()).isEqualTo(Duration.ofMinutes(2));
    }

    @Test
    void readsTheDeployedExample() throws Exception {
        AgentConfig config = AgentConfigLoader.load(Path.of("../deploy/examples/agent.yaml").toAbsolutePath());

        assertThat(config.units()).containsExactly("etcd", "etcd_*", "etcd-*");
        assertThat(config.logDirs()).containsExactly(Path.of("/var/log/etcd"));
        assertThat(config.tls().crl()).isEmpty();
    }

    @Test
    void readsTheKubesprayExample() throws Exception {
        AgentConfig config = AgentConfigLoader.load(Path.of("../deploy/examples/kubespray-agent.yaml").toAbsolutePath());

        assertThat(config.hostName()).isEqualTo("etcd1");
        assertThat(config.allowedDataRoots()).containsExactly(Path.of("/var/lib"));
        assertThat(config.toolDirs()).startsWith(Path.of("/usr/local/bin"));
    }

    @Test
    void optionalKeysAndScalarsOfOtherTypesReadAsBefore() throws Exception {
        AgentConfig config = AgentConfigLoader.load(write(DOCUMENTED.replace("host_name: lv-etcd-research-beta-0", "host_name: 12345")
                .replace("backup_dirs: [/var/backups/etcd]", "backup_dirs:")
                + "base_unit: etcd-main.service\nsystemctl: /bin/systemctl\nrestore_timeout: PT1H\ncommand_timeout: PT30S\n"));

        assertThat(config.hostName()).isEqualTo("12345");
        assertThat(config.backupDirs()).isEmpty();
        assertThat(config.baseUnit()).isEqualTo("etcd-main");
        assertThat(config.systemctl()).isEqualTo(Path.of("/bin/systemctl"));
        assertThat(config.restoreTimeout()).isEqualTo(Duration.ofHours(1));
        assertThat(config.commandTimeout()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void theDataPortIsNextToListenUnlessSetOrOff() throws Exception {
        AgentConfig byDefault = AgentConfigLoader.load(write(DOCUMENTED));
        assertThat(byDefault.dataPort(7443)).isEqualTo(7444);
        assertThat(byDefault.dataPort(0)).as("an agent listening on any port takes any port").isZero();
        assertThat(AgentConfigLoader.load(write(DOCUMENTED + "data_port: 9000\n")).dataPort(7443)).isEqualTo(9000);
        assertThat(AgentConfigLoader.load(write(DOCUMENTED + "data_port: off\n")).dataPort(7443)).isEqualTo(AgentConfig.DATA_PORT_OFF);
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED + "data_port: 70000\n")))
                .hasMessageContaining("data_port").hasMessageContaining("must be a port");
    }

    @Test
    void wrongShapesAreNamedByField() throws Exception {
        Path notAMapping = write("- host_name\n");
        assertThatThrownBy(() -> AgentConfigLoader.load(notAMapping))
                .hasMessageStartingWith("agent config " + notAMapping + ": must be a YAML mapping of the keys [allowed_data_roots, "
                        + "backup, backup_dirs, base_unit, base_unit_dirs, command_timeout, data_port, env_dir, host_name, listen, ");
        assertThatThrownBy(() -> AgentConfigLoader.load(write("")))
                .hasMessageContaining(": must be a YAML mapping of the keys");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED.replace("[/usr/local/bin, /usr/bin]", "[/usr/bin, 5]"))))
                .hasMessageContaining("field tool_dirs[1]: must be a path string");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED.replace("[/usr/local/bin, /usr/bin]", "[]"))))
                .hasMessageContaining("field tool_dirs: must be a non-empty list of absolute paths");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED.replace("[/usr/local/bin, /usr/bin]", "/usr/bin"))))
                .hasMessageContaining("field tool_dirs: must be a non-empty list of absolute paths");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED.replace("listen: 192.168.149.60:7443", "listen: {a: b}"))))
                .hasMessageContaining("field listen: must be a non-empty string");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED.replace("listen: 192.168.149.60:7443", "listen: ''"))))
                .hasMessageContaining("field listen: must be a non-empty string");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED + "base_unit:\n")))
                .hasMessageContaining("field base_unit: required");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED.replace("env_dir: /etc/default", "env_dir: ~"))))
                .hasMessageContaining("field env_dir: required");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED.replace("tls:\n", "tls: /etc/tls\nx:\n"))))
                .hasMessageContaining("field x: unknown key");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED.replace("coordinator_cn: etcd-rescue-coordinator",
                "coordinator_cn: [a]"))))
                .hasMessageContaining("field tls.coordinator_cn: must be a non-empty string");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED.replace("  cert: /etc/etcd-rescue/tls/agent.pem\n", ""))))
                .hasMessageContaining("field tls.cert: required");
        assertThatThrownBy(() -> AgentConfigLoader.load(write("host_name: x\nlisten: 127.0.0.1:1\ntls: /etc/tls\n")))
                .hasMessageContaining("field tls: required: a mapping with the keys [ca, cert, coordinator_cn, coordinator_spki_sha256, crl, key]");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED.replace("PT10M", "PT0S"))))
                .hasMessageContaining("field max_claim_ttl: must be positive, got 'PT0S'");
    }

    @Test
    void anUnknownKeyIsNamedWithTheAllowedOnes() {
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED + "data_root: /x\n")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("field data_root: unknown key; allowed keys are [allowed_data_roots,");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED.replace("  coordinator_cn:", "  coordinator:"))))
                .hasMessageContaining("field tls.coordinator: unknown key");
    }

    @Test
    void relativeAndUnnormalizedPathsAreRefusedByField() {
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED.replace("env_dir: /etc/default", "env_dir: etc/default"))))
                .hasMessageContaining("field env_dir: must be an absolute path");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED.replace("[/var/lib/etcd]", "[/var/lib/../etcd]"))))
                .hasMessageContaining("field allowed_data_roots[0]: must be a normalized path");
    }

    @Test
    void badDurationMissingFieldAndBadListenAreNamed() {
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED.replace("PT10M", "10m"))))
                .hasMessageContaining("field max_claim_ttl: must be an ISO-8601 duration like PT10M");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED.replace("host_name: lv-etcd-research-beta-0\n", ""))))
                .hasMessageContaining("field host_name: required");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED.replace("192.168.149.60:7443", "192.168.149.60"))))
                .hasMessageContaining("field listen: must be address:port");
    }

    @Test
    void unitsDefaultToEtcdAndItsCopiesAndAlwaysHoldTheBaseUnit() throws Exception {
        assertThat(AgentConfigLoader.load(write(DOCUMENTED)).units()).containsExactly("etcd", "etcd_*", "etcd-*");
        assertThat(AgentConfigLoader.load(write(DOCUMENTED + "base_unit: kube-etcd\n")).units())
                .containsExactly("etcd", "etcd_*", "etcd-*", "kube-etcd");
        assertThat(AgentConfigLoader.load(write(DOCUMENTED + "units: [member-*.service]\n")).units())
                .containsExactly("member-*", "etcd");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED + "units: ['*']\n")))
                .hasMessageContaining("field units[0]: must be a unit name or a glob");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED + "units: [ssh; x]\n")))
                .hasMessageContaining("field units[0]");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED + "units: []\n")))
                .hasMessageContaining("field units: must be a non-empty list");
    }

    @Test
    void coordinatorKeyPinsAndTheCrlAreOptional() throws Exception {
        String pin = "ab".repeat(32);
        AgentConfig none = AgentConfigLoader.load(write(DOCUMENTED));
        assertThat(none.tls().coordinatorSpkiSha256()).isEmpty();
        assertThat(none.tls().crl()).isEmpty();
        AgentConfig one = AgentConfigLoader.load(write(DOCUMENTED.replace("  coordinator_cn:",
                "  crl: /etc/etcd-rescue/tls/crl.pem\n  coordinator_spki_sha256: " + pin.toUpperCase() + "\n  coordinator_cn:")));
        assertThat(one.tls().coordinatorSpkiSha256()).containsExactly(pin);
        assertThat(one.tls().crl()).contains(Path.of("/etc/etcd-rescue/tls/crl.pem"));
        AgentConfig two = AgentConfigLoader.load(write(DOCUMENTED.replace("  coordinator_cn:",
                "  coordinator_spki_sha256: [" + pin + ", " + "cd".repeat(32) + "]\n  coordinator_cn:")));
        assertThat(two.tls().coordinatorSpkiSha256()).hasSize(2);
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED.replace("  coordinator_cn:",
                "  coordinator_spki_sha256: [" + pin + ", abc]\n  coordinator_cn:"))))
                .hasMessageContaining("field tls.coordinator_spki_sha256[1]: must be the 64 hex digits");
    }

    @Test
    void maxSnapshotBytesTakesBytesOrABinarySuffix() throws Exception {
        assertThat(AgentConfigLoader.load(write(DOCUMENTED)).maxSnapshotBytes()).isZero();
        assertThat(AgentConfigLoader.load(write(DOCUMENTED + "max_snapshot_bytes: 16GiB\n")).maxSnapshotBytes()).isEqualTo(16L << 30);
        assertThat(AgentConfigLoader.load(write(DOCUMENTED + "max_snapshot_bytes: 1000\n")).maxSnapshotBytes()).isEqualTo(1000);
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED + "max_snapshot_bytes: 16G\n")))
                .hasMessageContaining("field max_snapshot_bytes: must be a size in bytes");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED + "max_snapshot_bytes: 0\n")))
                .hasMessageContaining("field max_snapshot_bytes: must be positive");
    }

    @Test
    void theMessageNamesTheFile() throws Exception {
        Path file = write("host_name: [");
        assertThatThrownBy(() -> AgentConfigLoader.load(file)).hasMessageStartingWith("agent config " + file + ": not valid YAML");
        assertThatThrownBy(() -> AgentConfigLoader.load(dir.resolve("missing.yaml"))).hasMessage("agent config "
                + dir.resolve("missing.yaml") + ": no such file: write it from deploy/examples/agent.yaml, or pass --config FILE");
        assertThatThrownBy(() -> AgentConfigLoader.load(dir)).hasMessage("agent config " + dir + ": cannot read it: Is a directory");
    }

    @Test
    void backupsAreOffUnlessConfiguredAndTheirSettingsAreChecked() throws Exception {
        assertThat(AgentConfigLoader.load(write(DOCUMENTED)).backup()).isEmpty();
        AgentConfig config = AgentConfigLoader.load(write(DOCUMENTED + """
                backup:
                  interval: PT15M
                  cluster: prod-a
                  etcd: {endpoint: "https://10.0.0.1:2379", ca: /etc/etcd/ca.pem, cert: /etc/etcd/client.pem, key: /etc/etcd/client-key.pem}
                  retention: {keep_last: 5, weekly: 8}
                """));
        BackupConfig b = config.backup().orElseThrow();
        assertThat(b.interval()).isEqualTo(java.time.Duration.ofMinutes(15));
        assertThat(b.dir()).isEqualTo(Path.of("/var/backups/etcd-rescue"));
        assertThat(b.etcd().endpoint()).hasToString("https://10.0.0.1:2379");
        assertThat(b.retention()).isEqualTo(new BackupConfig.Retention(5, 24, 7, 8));
        assertThat(b.copies()).as("one copy on a peer by default").isEqualTo(1);

        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED + "backup: {interval: PT15M}\n")))
                .hasMessageContaining("field backup.etcd: required");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED + "backup: {interval: PT1S, etcd: {endpoint: 'http://a:2379'}}\n")))
                .hasMessageContaining("field backup.interval: must be at least PT10S");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED + "backup: {etcd: {endpoint: 'http://a:2379', cert: /c.pem}}\n")))
                .hasMessageContaining("field backup.etcd.key: required with backup.etcd.cert");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED + "backup: {etcd: {endpoint: 'a:2379'}}\n")))
                .hasMessageContaining("field backup.etcd.endpoint: must be a client URL");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED + "backup: {etcd: {endpoint: 'http://a:2379'}, retention: {keep_last: 0}}\n")))
                .hasMessageContaining("field backup.retention.keep_last: must be at least 1");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED + "backup: {etcd: {endpoint: 'http://a:2379'}, every: 5}\n")))
                .hasMessageContaining("field backup.every: unknown key; allowed keys are [cluster, copies, dir, drill_every, etcd, interval,"
                        + " retention, s3]");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED + "backup: {etcd: {endpoint: 'http://a:2379'}, copies: many}\n")))
                .hasMessageContaining("field backup.copies: must be a whole number from 0");
        assertThat(AgentConfigLoader.load(write(DOCUMENTED + "backup: {etcd: {endpoint: 'http://a:2379'}, copies: 2}\n")).backup().orElseThrow()
                .copies()).isEqualTo(2);
        assertThat(AgentConfigLoader.load(write(DOCUMENTED + "metrics: {listen: '127.0.0.1:9464'}\n")).metricsListen()).get()
                .satisfies(a -> assertThat(a.getPort()).isEqualTo(9464));
        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED + "metrics: {listen: '9464'}\n")))
                .hasMessageContaining("field metrics.listen: must be address:port");
    }

    @Test
    void anS3CopyNeedsItsCredentialsInAPrivateFileAndTheClusterName() throws Exception {
        Path credentials = dir.resolve("s3-credentials");
        Files.writeString(credentials, "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s3cr3t-value\n");
        Files.setPosixFilePermissions(credentials, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        String base = DOCUMENTED + "backup:\n  cluster: prod-a\n  etcd: {endpoint: 'http://a:2379'}\n";
        BackupConfig.S3 s3 = AgentConfigLoader.load(write(base + "  s3: {endpoint: 'http://127.0.0.1:9000', bucket: etcd-backups,"
                + " prefix: 'team/etcd', path_style: true, credentials_file: " + credentials + "}\n")).backup().orElseThrow().s3().orElseThrow();
        assertThat(s3.endpoint()).hasValue(java.net.URI.create("http://127.0.0.1:9000"));
        assertThat(s3.prefix()).isEqualTo("team/etcd/");
        assertThat(s3.region()).isEqualTo("us-east-1");
        assertThat(s3.pathStyle()).isTrue();
        assertThat(s3.location()).isEqualTo("s3://etcd-backups/team/etcd/");
        assertThat(S3Credentials.read(credentials).toString()).doesNotContain("s3cr3t").doesNotContain("AKIAEXAMPLE");

        assertThatThrownBy(() -> AgentConfigLoader.load(write(DOCUMENTED + "backup:\n  etcd: {endpoint: 'http://a:2379'}\n"
                + "  s3: {bucket: etcd-backups, credentials_file: " + credentials + "}\n")))
                .hasMessageContaining("field backup.cluster: required with backup.s3");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(base + "  s3: {bucket: etcd-backups, secret_key: abc, credentials_file: "
                + credentials + "}\n")))
                .hasMessageContaining("field backup.s3.secret_key: secrets never go into agent.yaml").hasMessageNotContaining("abc");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(base + "  s3: {bucket: Etcd_Backups, credentials_file: " + credentials + "}\n")))
                .hasMessageContaining("field backup.s3.bucket: must be a bucket name");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(base + "  s3: {bucket: etcd-backups}\n")))
                .hasMessageContaining("field backup.s3.credentials_file: required");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(base + "  s3: {bucket: etcd-backups, credentials_file: /nonexistent/creds}\n")))
                .hasMessageContaining("field backup.s3.credentials_file: /nonexistent/creds does not exist");
        Files.setPosixFilePermissions(credentials, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(() -> AgentConfigLoader.load(write(base + "  s3: {bucket: etcd-backups, credentials_file: " + credentials + "}\n")))
                .hasMessageContaining("field backup.s3.credentials_file: " + credentials + " is readable or writable by group or others");
        Files.setPosixFilePermissions(credentials, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Files.writeString(credentials, "[default]\naws_access_key_id = AKIAEXAMPLE\n");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(base + "  s3: {bucket: etcd-backups, credentials_file: " + credentials + "}\n")))
                .hasMessageContaining("has no aws_secret_access_key");
        Files.writeString(credentials, "aws_access_key_id AKIAEXAMPLE s3cr3t-value\n");
        assertThatThrownBy(() -> AgentConfigLoader.load(write(base + "  s3: {bucket: etcd-backups, credentials_file: " + credentials + "}\n")))
                .hasMessageContaining("line 1: not key = value").hasMessageNotContaining("s3cr3t");
    }

    private Path write(String text) throws Exception {
        Path file = dir.resolve("agent-" + System.nanoTime() + ".yaml");
        Files.writeString(file, text);
        return file;
    }
}
