package dev.etcdrescue.agent.oldmember;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.proto.v1.Finding;
import dev.etcdrescue.proto.v1.Severity;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The old member's effective configuration for each layout real hosts use (shared/research/layouts.md). */
class OldMemberReaderTest {
    @TempDir
    Path dir;
    private HostFiles host;

    @BeforeEach
    void host() {
        host = new HostFiles(dir);
    }

    private static Map<String, String> values(OldMember old) {
        return old.settings().values().stream().collect(Collectors.toMap(Setting::env, Setting::value));
    }

    @Test
    void debianUnitReadsItsEnvFileOverItsEnvironmentLinesAndFlagsFromDaemonArgs() {
        Path env = host.write("/etc/default/etcd", """
                # tuned
                ETCD_NAME=alpha
                ETCD_DATA_DIR=/var/lib/etcd/default
                DAEMON_ARGS="--quota-backend-bytes=4294967296 --snapshot-count 5000"
                """);
        host.write("/lib/systemd/system/etcd.service", """
                [Service]
                Environment=DAEMON_ARGS=
                Environment=ETCD_NAME=%H
                Environment=ETCD_DATA_DIR=/var/lib/etcd/default
                EnvironmentFile=-ENVFILE
                User=etcd
                ExecStart=/usr/bin/etcd $DAEMON_ARGS
                [Install]
                Alias=etcd2.service
                """.replace("ENVFILE", env.toString().replace("/etcd", "/%p")));

        OldMember old = host.read("etcd");

        assertThat(old.findings()).isEmpty();
        assertThat(old.kind()).isEqualTo(OldMember.Kind.FLAGS);
        assertThat(values(old)).containsEntry("ETCD_NAME", "alpha").containsEntry("ETCD_QUOTA_BACKEND_BYTES", "4294967296")
                .containsEntry("ETCD_SNAPSHOT_COUNT", "5000").doesNotContainKey("DAEMON_ARGS");
        assertThat(old.settings().get("ETCD_NAME").source()).isEqualTo(new Source(env, 2));
        assertThat(old.settings().get("ETCD_QUOTA_BACKEND_BYTES").describe()).isEqualTo("--quota-backend-bytes at " + env + ":4");
        assertThat(old.launch().orElseThrow().withoutArguments()).isEqualTo("/usr/bin/etcd");
        assertThat(old.envFiles()).containsExactly(env);
    }

    @Test
    void rpmUnitWithABashWrapperAndQuotedValues() {
        Path conf = host.write("/etc/etcd/etcd.conf", """
                #[Member]
                ETCD_DATA_DIR="/var/lib/etcd/default.etcd"
                ETCD_LISTEN_CLIENT_URLS="http://localhost:2379"
                ETCD_NAME="default"
                ETCD_QUOTA_BACKEND_BYTES="8589934592"
                """);
        host.write("/lib/systemd/system/etcd.service", """
                [Service]
                Type=notify
                WorkingDirectory=/var/lib/etcd/
                EnvironmentFile=-%s
                User=etcd
                ExecStart=/bin/bash -c "GOMAXPROCS=$(nproc) /usr/bin/etcd"
                """.formatted(conf));

        OldMember old = host.read("etcd");

        assertThat(old.findings()).isEmpty();
        assertThat(old.kind()).isEqualTo(OldMember.Kind.ENVIRONMENT);
        assertThat(values(old)).containsEntry("ETCD_QUOTA_BACKEND_BYTES", "8589934592").containsEntry("ETCD_NAME", "default");
        Launch launch = old.launch().orElseThrow();
        assertThat(launch.shell()).isTrue();
        assertThat(launch.etcd()).isEqualTo("/usr/bin/etcd");
        assertThat(launch.withoutArguments()).isEqualTo("/bin/bash -c \"GOMAXPROCS=$(nproc) /usr/bin/etcd\"");
    }

    @Test
    void centos7WrapperPassesTheVariablesAsFlagsThroughTheShell() {
        Path conf = host.write("/etc/etcd/etcd.conf", "ETCD_NAME=m1\nETCD_DATA_DIR=/var/lib/etcd/m1.etcd\n");
        host.write("/etc/systemd/system/etcd.service", """
                [Service]
                EnvironmentFile=-%s
                ExecStart=/bin/bash -c "GOMAXPROCS=$(nproc) /usr/bin/etcd --name=\\"${ETCD_NAME}\\" --data-dir=\\"${ETCD_DATA_DIR}\\""
                """.formatted(conf));

        OldMember old = host.read("etcd");

        assertThat(old.findings()).isEmpty();
        assertThat(old.settings().get("ETCD_NAME").givenAs()).isEqualTo("--name");
        assertThat(values(old)).containsEntry("ETCD_NAME", "m1").containsEntry("ETCD_DATA_DIR", "/var/lib/etcd/m1.etcd");
        assertThat(old.launch().orElseThrow().withoutArguments()).isEqualTo("/bin/bash -c \"GOMAXPROCS=$$(nproc) /usr/bin/etcd\"");
    }

    @Test
    void theHardWaysFlagsOnContinuedLinesWithBooleanFlags() {
        Path unit = host.write("/etc/systemd/system/etcd.service", """
                [Unit]
                Description=etcd

                [Service]
                Type=notify
                ExecStart=/usr/local/bin/etcd \\
                  --name controller-0 \\
                  --cert-file=/etc/etcd/kubernetes.pem \\
                  --peer-client-cert-auth \\
                  --client-cert-auth \\
                  --initial-advertise-peer-urls https://10.240.0.10:2380 \\
                  --initial-cluster controller-0=https://10.240.0.10:2380,controller-1=https://10.240.0.11:2380 \\
                  --initial-cluster-state new \\
                  --quota-backend-bytes=4294967296 \\
                  --data-dir=/var/lib/etcd
                Restart=on-failure
                """);

        OldMember old = host.read("etcd");

        assertThat(old.findings()).isEmpty();
        assertThat(old.kind()).isEqualTo(OldMember.Kind.FLAGS);
        assertThat(values(old)).containsEntry("ETCD_NAME", "controller-0").containsEntry("ETCD_PEER_CLIENT_CERT_AUTH", "true")
                .containsEntry("ETCD_CLIENT_CERT_AUTH", "true").containsEntry("ETCD_INITIAL_CLUSTER_STATE", "new")
                .containsEntry("ETCD_DATA_DIR", "/var/lib/etcd").containsEntry("ETCD_QUOTA_BACKEND_BYTES", "4294967296")
                .containsEntry("ETCD_INITIAL_ADVERTISE_PEER_URLS", "https://10.240.0.10:2380");
        assertThat(old.settings().get("ETCD_NAME").source()).isEqualTo(new Source(unit, 6));
        assertThat(old.launch().orElseThrow().withoutArguments()).isEqualTo("/usr/local/bin/etcd");
        assertThat(old.unit().serviceUser()).isEqualTo("root");
    }

    @Test
    void aConfigFileOverridesEveryFlagAndVariable() {
        Path yaml = host.write("/etc/etcd/etcd.config.yml", """
                name: 'etcd-1'
                data-dir: /var/lib/etcd/data
                quota-backend-bytes: 8589934592
                heartbeat-interval: 250
                listen-client-urls: https://10.0.0.1:2379
                log-outputs: [stderr]
                client-transport-security:
                  cert-file: /etc/etcd/ssl/etcd.pem
                  client-cert-auth: true
                peer-transport-security:
                  trusted-ca-file: /etc/etcd/ssl/ca.pem
                initial-cluster-token: null
                """);
        host.write("/etc/systemd/system/etcd.service", """
                [Service]
                Environment=ETCD_NAME=ignored
                ExecStart=/usr/local/bin/etcd --config-file=%s --name ignored-too
                """.formatted(yaml));

        OldMember old = host.read("etcd");

        assertThat(old.findings()).isEmpty();
        assertThat(old.kind()).isEqualTo(OldMember.Kind.CONFIG_FILE);
        assertThat(old.configFile()).contains(yaml);
        assertThat(values(old)).containsEntry("ETCD_NAME", "etcd-1").containsEntry("ETCD_QUOTA_BACKEND_BYTES", "8589934592")
                .containsEntry("ETCD_LOG_OUTPUTS", "stderr").containsEntry("ETCD_CERT_FILE", "/etc/etcd/ssl/etcd.pem")
                .containsEntry("ETCD_CLIENT_CERT_AUTH", "true").containsEntry("ETCD_PEER_TRUSTED_CA_FILE", "/etc/etcd/ssl/ca.pem")
                .doesNotContainKeys("ETCD_INITIAL_CLUSTER_TOKEN", "ETCD_CONFIG_FILE");
        assertThat(old.settings().get("ETCD_QUOTA_BACKEND_BYTES").describe()).isEqualTo("quota-backend-bytes: at " + yaml + ":3");
        assertThat(old.launch().orElseThrow().withoutArguments()).isEqualTo("/usr/local/bin/etcd");
    }

    @Test
    void aConfigFileNamedInTheEnvFileIsReadToo() {
        Path yaml = host.write("/etc/etcd/etcd.yml", "name: from-yaml\n");
        Path env = host.write("/etc/default/etcd", "ETCD_CONFIG_FILE=" + yaml + "\nETCD_NAME=ignored\n");
        host.write("/etc/systemd/system/etcd.service", "[Service]\nEnvironmentFile=" + env + "\nExecStart=/usr/bin/etcd\n");

        OldMember old = host.read("etcd");

        assertThat(old.kind()).isEqualTo(OldMember.Kind.CONFIG_FILE);
        assertThat(values(old)).containsOnly(Map.entry("ETCD_NAME", "from-yaml"));
    }

    @Test
    void dropInsFromEveryUnitDirApplyInFileNameOrderAndTheEtcOneShadowsTheLibOne() {
        host.write("/lib/systemd/system/etcd.service", "[Service]\nUser=etcd\nEnvironment=ETCD_NAME=a\nExecStart=/usr/bin/etcd\n");
        Path override = host.write("/etc/systemd/system/etcd.service.d/override.conf", """
                [Service]
                Environment=ETCD_QUOTA_BACKEND_BYTES=4294967296
                LimitNOFILE=65536
                """);
        host.write("/lib/systemd/system/etcd.service.d/override.conf", "[Service]\nEnvironment=ETCD_QUOTA_BACKEND_BYTES=1\n");
        host.write("/lib/systemd/system/etcd.service.d/50-user.conf", "[Service]\nUser=other\n");
        host.write("/run/systemd/system/etcd.service.d/testbed.conf", "[Service]\nRestart=no\n");

        OldMember old = host.read("etcd");

        assertThat(old.unit().dropIns()).extracting(UnitFile::path).extracting(p -> p.getFileName().toString())
                .containsExactly("50-user.conf", "override.conf", "testbed.conf");
        assertThat(old.unit().dropIns().get(2).runtime()).isTrue();
        assertThat(old.settings().get("ETCD_QUOTA_BACKEND_BYTES").source()).isEqualTo(new Source(override, 2));
        assertThat(values(old)).containsEntry("ETCD_QUOTA_BACKEND_BYTES", "4294967296");
        assertThat(old.unit().serviceUser()).isEqualTo("other");
    }

    @Test
    void aDropInThatResetsExecStartReplacesTheUnitsCommand() {
        host.write("/lib/systemd/system/etcd.service", "[Service]\nExecStart=/usr/bin/etcd --name a\n");
        host.write("/etc/systemd/system/etcd.service.d/10-exec.conf", "[Service]\nExecStart=\nExecStart=/opt/etcd/bin/etcd --name b\n");

        OldMember old = host.read("etcd");

        assertThat(values(old)).containsEntry("ETCD_NAME", "b");
        assertThat(old.launch().orElseThrow().etcd()).isEqualTo("/opt/etcd/bin/etcd");
    }

    @Test
    void kubesprayDockerModeIsRefusedNamingTheLine() {
        Path script = host.write("/usr/local/bin/etcd", """
                #!/bin/bash
                /usr/bin/docker run \\
                  --restart=on-failure:5 \\
                  --env-file=/etc/etcd.env \\
                  --net=host \\
                  --name=etcd1 \\
                  quay.io/coreos/etcd:v3.5.16 /usr/local/bin/etcd "$@"
                """);
        Path unit = host.write("/etc/systemd/system/etcd.service", """
                [Service]
                EnvironmentFile=-/etc/etcd.env
                ExecStart=%s
                ExecStartPre=-/usr/bin/docker rm -f etcd1
                ExecStop=/usr/bin/docker stop etcd1
                """.formatted(script));

        OldMember old = host.read("etcd");

        assertThat(old.refused()).isTrue();
        assertThat(old.findings()).extracting(Finding::getCode).contains("base-unit-container", "base-unit-unreadable");
        assertThat(old.findings().get(0).getMessage()).contains(unit + ":4", "docker");
        assertThat(old.findings()).extracting(Finding::getMessage).anyMatch(m -> m.contains(script + ":2"));
    }

    @Test
    void aPodmanRunInExecStartIsRefused() {
        host.write("/etc/systemd/system/etcd.service", "[Service]\nExecStart=/usr/bin/podman run --rm --name etcd quay.io/etcd\n");

        OldMember old = host.read("etcd");

        assertThat(old.findings()).filteredOn(f -> f.getSeverity() == Severity.ERROR).extracting(Finding::getCode)
                .contains("base-unit-container");
    }

    @Test
    void whatCannotBeReadForSureIsRefused() {
        host.write("/etc/systemd/system/a.service", "[Service]\nExecStart=/bin/sh -c \"/usr/bin/etcd --name x | logger\"\n");
        host.write("/etc/systemd/system/b.service", "[Service]\nExecStart=/bin/sh -c \"/usr/bin/etcd --name $(hostname)\"\n");
        host.write("/etc/systemd/system/c.service", "[Service]\nExecStart=/usr/bin/my-etcd-launcher\n");
        host.write("/etc/systemd/system/d.service", "[Service]\nExecStart=/usr/bin/etcd --name a positional\n");
        host.write("/etc/systemd/system/e.service", "[Service]\nType=notify\n");
        host.write("/etc/systemd/system/f.service", "[Service]\nExecStart=/usr/bin/etcd --config-file=/nonexistent.yml\n");

        for (String unit : new String[] {"a", "b", "c", "d", "e"}) {
            OldMember old = host.read(unit);
            assertThat(old.refused()).as(unit).isTrue();
            assertThat(old.findings().get(0).getCode()).as(unit).isEqualTo("base-unit-unreadable");
            assertThat(old.findings().get(0).getMessage()).as(unit).contains(unit + ".service:");
        }
        OldMember f = host.read("f");
        assertThat(f.findings()).extracting(Finding::getCode).containsExactly("base-config-unreadable");
        assertThat(f.findings().get(0).getMessage()).contains("f.service:2", "/nonexistent.yml");
    }

    @Test
    void envWrapperAndExecPrefixesAreKept() {
        host.write("/etc/systemd/system/etcd.service", "[Service]\nExecStart=-/usr/bin/env GOMAXPROCS=2 /usr/bin/etcd --name n1\n");

        OldMember old = host.read("etcd");

        assertThat(values(old)).containsEntry("ETCD_NAME", "n1");
        assertThat(old.launch().orElseThrow().withoutArguments()).isEqualTo("-/usr/bin/env GOMAXPROCS=2 /usr/bin/etcd");
    }

    @Test
    void flagsWinOverVariablesAsInEtcd() {
        Path env = host.write("/etc/etcd.env", "ETCD_NAME=from-env\nETCD_SNAPSHOT_COUNT=100\nETCDCTL_API=3\n");
        host.write("/etc/systemd/system/etcd.service", "[Service]\nEnvironmentFile=" + env + "\nExecStart=/usr/bin/etcd -name=from-flag\n");

        OldMember old = host.read("etcd");

        assertThat(values(old)).containsOnly(Map.entry("ETCD_NAME", "from-flag"), Map.entry("ETCD_SNAPSHOT_COUNT", "100"));
    }
}
