package dev.etcdrescue.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.spec.MemberPlan;
import dev.etcdrescue.agent.spec.PathRules;
import dev.etcdrescue.proto.v1.EnvSetting;
import dev.etcdrescue.proto.v1.Member;
import dev.etcdrescue.proto.v1.MemberSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Production settings in the env file: TLS files, client-certificate auth, settings carried over from the old member. */
class TlsExtrasTest {
    private static final Path ROOT = Path.of("/var/lib/etcd");
    private static final String PKI = "/etc/etcd/pki/";

    private final MemberPlan https = plan("https");
    private final MemberPlan http = plan("http");

    @TempDir Path dir;

    @Test
    void httpsMemberGetsEveryTlsSettingInItsEnvFile() {
        String text = EnvFileRenderer.render(https, tlsExtras(), "beta", "op-1");
        assertThat(text).contains("ETCD_ADVERTISE_CLIENT_URLS=\"https://192.168.149.60:22379\"\n")
                .contains("ETCD_CERT_FILE=\"/etc/etcd/pki/member.pem\"\n")
                .contains("ETCD_KEY_FILE=\"/etc/etcd/pki/member-key.pem\"\n")
                .contains("ETCD_TRUSTED_CA_FILE=\"/etc/etcd/pki/ca.pem\"\n")
                .contains("ETCD_CLIENT_CERT_AUTH=\"true\"\n")
                .contains("ETCD_PEER_CERT_FILE=\"/etc/etcd/pki/member.pem\"\n")
                .contains("ETCD_PEER_KEY_FILE=\"/etc/etcd/pki/member-key.pem\"\n")
                .contains("ETCD_PEER_TRUSTED_CA_FILE=\"/etc/etcd/pki/ca.pem\"\n")
                .contains("ETCD_PEER_CLIENT_CERT_AUTH=\"true\"\n");
    }

    @Test
    void httpsWithoutTheCertificateIsRefusedBeforeEtcdWouldFailToStart() {
        List<EnvSetting> noServerCert = tlsExtras().stream().filter(e -> !e.getKey().equals("ETCD_CERT_FILE")).toList();
        assertThatThrownBy(() -> EnvFileRenderer.render(https, noServerCert, "beta", "op-1"))
                .isInstanceOf(AgentException.class).hasMessageContaining("member.client_urls are https but no ETCD_CERT_FILE");
        List<EnvSetting> noPeerKey = tlsExtras().stream().filter(e -> !e.getKey().equals("ETCD_PEER_KEY_FILE")).toList();
        assertThatThrownBy(() -> EnvFileRenderer.render(https, noPeerKey, "beta", "op-1"))
                .isInstanceOf(AgentException.class).hasMessageContaining("member.peer_urls are https but no ETCD_PEER_KEY_FILE");
    }

    @Test
    void clientCertAuthNeedsItsCa() {
        assertThatThrownBy(() -> EnvFileRenderer.render(http, List.of(setting("ETCD_CLIENT_CERT_AUTH", "true")), "beta", "op-1"))
                .isInstanceOf(AgentException.class).hasMessageContaining("ETCD_CLIENT_CERT_AUTH is true but no ETCD_TRUSTED_CA_FILE");
    }

    @Test
    void aMetricsListenerOnTheMembersOwnPortIsRefused() {
        assertThatThrownBy(() -> EnvFileRenderer.render(http, List.of(setting("ETCD_LISTEN_METRICS_URLS",
                "http://127.0.0.1:2381,http://192.168.149.60:22379")), "beta", "op-1"))
                .isInstanceOf(AgentException.class).hasMessageContaining("http://192.168.149.60:22379 uses a port the member listens on");
        assertThat(EnvFileRenderer.render(http, List.of(setting("ETCD_LISTEN_METRICS_URLS", "http://127.0.0.1:2381")), "beta", "op-1"))
                .contains("ETCD_LISTEN_METRICS_URLS=\"http://127.0.0.1:2381\"\n");
    }

    @Test
    void settingsCarriedOverFromTheOldMemberAreRendered() {
        String text = EnvFileRenderer.render(http, List.of(setting("ETCD_QUOTA_BACKEND_BYTES", "8589934592"),
                setting("ETCD_SNAPSHOT_COUNT", "10000"), setting("ETCD_AUTO_COMPACTION_MODE", "periodic"),
                setting("ETCD_AUTO_COMPACTION_RETENTION", "1h30m"), setting("ETCD_MAX_REQUEST_BYTES", "10485760"),
                setting("ETCD_METRICS", "extensive"), setting("ETCD_ENABLE_PPROF", "false"),
                setting("ETCD_CIPHER_SUITES", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
                setting("ETCD_MAX_SNAPSHOTS", "5"), setting("ETCD_MAX_WALS", "5")), "beta", "op-1");
        assertThat(text).contains("ETCD_QUOTA_BACKEND_BYTES=\"8589934592\"", "ETCD_AUTO_COMPACTION_RETENTION=\"1h30m\"",
                "ETCD_METRICS=\"extensive\"", "ETCD_CIPHER_SUITES=\"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "ETCD_METRICS|verbose",
        "ETCD_CIPHER_SUITES|TLS_AES_128 GCM",
        "ETCD_CIPHER_SUITES|a,b",
        "ETCD_ENABLE_PPROF|yes",
        "ETCD_MAX_WALS|-1",
        "ETCD_CERT_FILE|etc/etcd/pki/member.pem",
        "ETCD_KEY_FILE|/etc/etcd/../shadow"})
    void valuesOutsideTheirGrammarAreRefusedNamingTheSetting(String key, String value) {
        assertThatThrownBy(() -> EnvFileRenderer.render(http, List.of(setting(key, value)), "beta", "op-1"))
                .isInstanceOf(AgentException.class).hasMessageContaining("extra[0].value (" + key + ")");
    }

    @Test
    void certificateFilesMustExistOnTheHost() throws Exception {
        Path cert = Files.writeString(dir.resolve("member.pem"), "x");
        ExtraFiles.requirePresent(List.of(setting("ETCD_CERT_FILE", cert.toString()), setting("ETCD_LOGGER", "zap")));
        assertThatThrownBy(() -> ExtraFiles.requirePresent(List.of(setting("ETCD_CERT_FILE", cert.toString()),
                setting("ETCD_KEY_FILE", dir.resolve("member-key.pem").toString()))))
                .isInstanceOfSatisfying(AgentException.class, e -> assertThat(e.field()).contains("extra[1].value"))
                .hasMessageContaining("extra[1].value (ETCD_KEY_FILE) " + dir.resolve("member-key.pem") + " does not exist on this host");
        assertThatThrownBy(() -> ExtraFiles.requirePresent(List.of(setting("ETCD_TRUSTED_CA_FILE", dir.toString()))))
                .hasMessageContaining("is not a regular file");
    }

    private static List<EnvSetting> tlsExtras() {
        List<EnvSetting> extras = new ArrayList<>();
        extras.add(setting("ETCD_CERT_FILE", PKI + "member.pem"));
        extras.add(setting("ETCD_KEY_FILE", PKI + "member-key.pem"));
        extras.add(setting("ETCD_TRUSTED_CA_FILE", PKI + "ca.pem"));
        extras.add(setting("ETCD_CLIENT_CERT_AUTH", "true"));
        extras.add(setting("ETCD_PEER_CERT_FILE", PKI + "member.pem"));
        extras.add(setting("ETCD_PEER_KEY_FILE", PKI + "member-key.pem"));
        extras.add(setting("ETCD_PEER_TRUSTED_CA_FILE", PKI + "ca.pem"));
        extras.add(setting("ETCD_PEER_CLIENT_CERT_AUTH", "true"));
        return extras;
    }

    private static MemberPlan plan(String scheme) {
        MemberSpec.Builder spec = MemberSpec.newBuilder()
                .setName("beta-0")
                .addPeerUrls(scheme + "://192.168.149.60:22380")
                .addClientUrls(scheme + "://192.168.149.60:22379")
                .addListenPeerUrls(scheme + "://192.168.149.60:22380")
                .addListenClientUrls(scheme + "://192.168.149.60:22379")
                .setDataDir(ROOT.resolve("new.etcd").toString())
                .setInitialClusterToken("beta-restored")
                .addInitialCluster(Member.newBuilder().setName("beta-0").addPeerUrls(scheme + "://192.168.149.60:22380"));
        return MemberPlan.from(spec.build(), new PathRules(List.of(ROOT)));
    }

    private static EnvSetting setting(String key, String value) {
        return EnvSetting.newBuilder().setKey(key).setValue(value).build();
    }
}
