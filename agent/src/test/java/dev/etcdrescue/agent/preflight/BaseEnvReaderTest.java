package dev.etcdrescue.agent.preflight;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.agent.config.BaseUnit;
import dev.etcdrescue.proto.v1.EnvSetting;
import dev.etcdrescue.proto.v1.Finding;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BaseEnvReaderTest {
    @TempDir
    Path dir;

    private BaseUnit unit(String name, String environmentFile) {
        return new BaseUnit(name, dir.resolve(name), "[Service]\nUser=etcd\nEnvironmentFile=" + environmentFile
                + "\nExecStart=/usr/bin/etcd $DAEMON_ARGS\n");
    }

    @Test
    void readsOnlyTheEtcdSettingsOfDebiansPercentPFileInOrder() throws Exception {
        Path defaults = Files.createDirectories(dir.resolve("default"));
        Files.writeString(defaults.resolve("etcd"), """
                # comment
                ETCD_QUOTA_BACKEND_BYTES="4294967296"
                DAEMON_ARGS="--debug"
                ETCD_INITIAL_CLUSTER_STATE=existing
                ETCD_LISTEN_METRICS_URLS=http://127.0.0.1:2381
                """);

        BaseEnvReader.BaseEnv env = BaseEnvReader.read(unit("etcd.service", "-" + defaults + "/%p"));

        assertThat(env.settings()).extracting(EnvSetting::getKey, EnvSetting::getValue).containsExactly(
                org.assertj.core.groups.Tuple.tuple("ETCD_QUOTA_BACKEND_BYTES", "4294967296"),
                org.assertj.core.groups.Tuple.tuple("ETCD_INITIAL_CLUSTER_STATE", "existing"),
                org.assertj.core.groups.Tuple.tuple("ETCD_LISTEN_METRICS_URLS", "http://127.0.0.1:2381"));
        assertThat(env.files()).isEqualTo(defaults.resolve("etcd").toString());
        assertThat(env.findings()).isEmpty();
    }

    @Test
    void aMissingOptionalFileIsNoError() {
        BaseEnvReader.BaseEnv env = BaseEnvReader.read(unit("etcd.service", "-" + dir + "/absent/%p"));

        assertThat(env.settings()).isEmpty();
        assertThat(env.files()).isEmpty();
        assertThat(env.findings()).isEmpty();
    }

    @Test
    void aMissingRequiredFileIsAWarning() {
        BaseEnvReader.BaseEnv env = BaseEnvReader.read(unit("etcd.service", dir + "/absent"));

        assertThat(env.settings()).isEmpty();
        assertThat(env.findings()).extracting(Finding::getCode).containsExactly("base-env-missing");
    }

    @Test
    void aFileOverOneMebibyteIsRefusedWithAFinding() throws Exception {
        Path big = dir.resolve("big");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(BaseEnvReader.MAX_ENV_FILE + 1);
        }

        BaseEnvReader.BaseEnv env = BaseEnvReader.read(unit("etcd.service", big.toString()));

        assertThat(env.settings()).isEmpty();
        assertThat(env.findings()).singleElement().satisfies(f -> {
            assertThat(f.getCode()).isEqualTo("base-env-too-large");
            assertThat(f.getMessage()).contains(big.toString(), "etcd_settings");
        });
    }

    @Test
    void laterFilesOverrideEarlierOnesAndAnEmptyAssignmentResets() throws Exception {
        Files.writeString(dir.resolve("a"), "ETCD_SNAPSHOT_COUNT=1\nETCD_LOG_LEVEL=info\n");
        Files.writeString(dir.resolve("b"), "ETCD_LOG_LEVEL=warn\n");
        Files.writeString(dir.resolve("ignored"), "ETCD_MAX_WALS=9\n");
        BaseUnit unit = new BaseUnit("etcd.service", dir.resolve("etcd.service"), "[Service]\nEnvironmentFile=" + dir.resolve("ignored")
                + "\nEnvironmentFile=\nEnvironmentFile=" + dir.resolve("a") + "\nEnvironmentFile=-" + dir.resolve("b") + "\n");

        BaseEnvReader.BaseEnv env = BaseEnvReader.read(unit);

        assertThat(env.settings()).extracting(EnvSetting::getKey, EnvSetting::getValue).containsExactly(
                org.assertj.core.groups.Tuple.tuple("ETCD_SNAPSHOT_COUNT", "1"), org.assertj.core.groups.Tuple.tuple("ETCD_LOG_LEVEL", "warn"));
        assertThat(env.files()).isEqualTo(dir.resolve("a") + "," + dir.resolve("b"));
    }

    @Test
    void specifiersOfTheUnitName() {
        assertThat(BaseEnvReader.resolve("/etc/default/%p", "etcd.service")).contains("/etc/default/etcd");
        assertThat(BaseEnvReader.resolve("/etc/%N.env", "etcd@main.service")).contains("/etc/etcd@main.env");
        assertThat(BaseEnvReader.resolve("/etc/%p/%i-%n%%", "etcd@main.service")).contains("/etc/etcd/main-etcd@main.service%");
        assertThat(BaseEnvReader.resolve("/home/%u/env", "etcd.service")).isEmpty();

        List<Finding> findings = new ArrayList<>();
        assertThat(BaseEnvReader.environmentFiles(unit("etcd.service", "%h/env"), findings)).isEmpty();
        assertThat(findings).extracting(Finding::getCode).containsExactly("base-env-specifier");
    }

    @Test
    void theDebianUnitOnThisMachineNamesEtcDefaultEtcd() throws Exception {
        Path debian = Path.of("/lib/systemd/system/etcd.service");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(debian));
        BaseUnit unit = new BaseUnit("etcd.service", debian, Files.readString(debian));

        assertThat(BaseEnvReader.environmentFiles(unit, new ArrayList<>())).containsExactly("-/etc/default/etcd");
    }
}
