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
    void theMessageNamesTheFile() throws Exception {
        Path file = write("host_name: [");
        assertThatThrownBy(() -> AgentConfigLoader.load(file)).hasMessageStartingWith("agent config " + file + ": not valid YAML");
        assertThatThrownBy(() -> AgentConfigLoader.load(dir.resolve("missing.yaml"))).hasMessageContaining("cannot read it");
    }

    private Path write(String text) throws Exception {
        Path file = dir.resolve("agent-" + System.nanoTime() + ".yaml");
        Files.writeString(file, text);
        return file;
    }
}
