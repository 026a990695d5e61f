package dev.etcdrescue.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.Pem;
import dev.etcdrescue.pki.PublicKeyPins;
import dev.etcdrescue.pki.RevocationList;
import dev.etcdrescue.pki.Role;
import dev.etcdrescue.pki.SubjectNames;
import dev.etcdrescue.pki.TlsContexts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class PkiCommandTest {
    private static final int DNS = 2;
    private static final int IP = 7;

    @TempDir Path tmp;
    private Path pki;
    @RegisterExtension
    final StandardStreams printed = new StandardStreams();

    @BeforeEach
    void paths() {
        pki = tmp.resolve("pki");
    }

    @Test
    void initCreatesCaAndCoordinatorCertificate() throws Exception {
        assertThat(run("pki", "init", "--dir", pki.toString())).isEqualTo(ExitCodes.OK);

        Path caDir = tmp.resolve("pki-ca");
        assertThat(pki.resolve("ca-key.pem")).as("the CA key is not kept beside the coordinator's").doesNotExist();
        CertificateAuthority ca = CertificateAuthority.load(caDir.resolve("ca.pem"), caDir.resolve("ca-key.pem"));
        assertThat(Pem.readCertificate(pki.resolve("ca.pem"))).isEqualTo(ca.certificate());
        X509Certificate coordinator = Pem.readCertificate(pki.resolve("coordinator.pem"));
        coordinator.verify(ca.certificate().getPublicKey());
        assertThat(Role.of(coordinator)).contains(Role.COORDINATOR);
        assertThat(SubjectNames.commonName(coordinator)).contains("etcd-rescue-coordinator");
        assertThat(Duration.between(Instant.now(), coordinator.getNotAfter().toInstant()))
                .isBetween(Duration.ofDays(7).minusMinutes(1), Duration.ofDays(7));
        assertThat(mode(caDir.resolve("ca-key.pem"))).isEqualTo("rw-------");
        assertThat(mode(pki.resolve("coordinator-key.pem"))).isEqualTo("rw-------");
        assertThat(TlsContexts.grpcClient(pki.resolve("coordinator.pem"), pki.resolve("coordinator-key.pem"),
                pki.resolve("ca.pem")).isClient()).isTrue();
        assertThat(printed.out()).contains("created CA:", "next: etcd-rescue pki issue",
                "coordinator key pin: " + PublicKeyPins.spkiSha256(coordinator));
    }

    @Test
    void initRefusesACaDirThatIsTheCoordinatorsDir() {
        assertThat(run("pki", "init", "--dir", pki.toString(), "--ca-dir", pki.toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(printed.err()).contains("--ca-dir must differ from --dir");
    }

    @Test
    void issueCoordinatorRenewsForDaysAndKeepsTheKeyOnlyWhenAsked() throws Exception {
        Path caDir = tmp.resolve("offline-ca");
        run("pki", "init", "--dir", pki.toString(), "--ca-dir", caDir.toString());
        X509Certificate first = Pem.readCertificate(pki.resolve("coordinator.pem"));

        assertThat(run("pki", "issue-coordinator", "--dir", pki.toString(), "--ca-dir", caDir.toString(),
                "--valid-for", "1", "--keep-key")).isEqualTo(ExitCodes.OK);
        X509Certificate renewed = Pem.readCertificate(pki.resolve("coordinator.pem"));
        assertThat(renewed.getPublicKey()).isEqualTo(first.getPublicKey());
        assertThat(renewed.getSerialNumber()).isNotEqualTo(first.getSerialNumber());
        assertThat(Duration.between(Instant.now(), renewed.getNotAfter().toInstant())).isLessThanOrEqualTo(Duration.ofDays(1));
        assertThat(printed.out()).contains("moved aside: " + pki.resolve("coordinator.pem"),
                "coordinator key pin: " + PublicKeyPins.spkiSha256(first));
        assertThat(mode(pki.resolve("coordinator-key.pem"))).isEqualTo("rw-------");

        assertThat(run("pki", "issue-coordinator", "--dir", pki.toString(), "--ca-dir", caDir.toString())).isEqualTo(ExitCodes.OK);
        assertThat(Pem.readCertificate(pki.resolve("coordinator.pem")).getPublicKey()).isNotEqualTo(first.getPublicKey());
        assertThat(run("pki", "issue-coordinator", "--dir", pki.toString(), "--ca-dir", caDir.toString(), "--valid-for", "0"))
                .isEqualTo(ExitCodes.USAGE);
    }

    @Test
    void revokeWritesASignedCrlThatKeepsEarlierEntries() throws Exception {
        Path caDir = tmp.resolve("pki-ca");
        run("pki", "init", "--dir", pki.toString());
        Path first = pki.resolve("first.pem");
        Files.copy(pki.resolve("coordinator.pem"), first);
        run("pki", "issue-coordinator", "--dir", pki.toString());

        assertThat(run("pki", "revoke", "--ca-dir", caDir.toString(), "--cert", first.toString())).isEqualTo(ExitCodes.OK);
        assertThat(run("pki", "revoke", "--ca-dir", caDir.toString(), "--serial", "0a:bc")).isEqualTo(ExitCodes.OK);

        CertificateAuthority ca = CertificateAuthority.load(caDir.resolve("ca.pem"), caDir.resolve("ca-key.pem"));
        RevocationList crl = RevocationList.load(caDir.resolve("crl.pem"), ca.certificate());
        assertThat(crl.revokes(Pem.readCertificate(first))).isTrue();
        assertThat(crl.revokes(Pem.readCertificate(pki.resolve("coordinator.pem")))).isFalse();
        assertThat(crl.crl().getRevokedCertificate(new java.math.BigInteger("abc", 16))).isNotNull();
        assertThat(printed.out()).contains("wrote " + caDir.resolve("crl.pem") + ": 2 revoked certificates", "tls.crl");
    }

    @Test
    void initRefusesWhenAnyFileExistsAndTouchesNothing() throws Exception {
        Files.createDirectories(pki);
        Files.writeString(pki.resolve("coordinator.pem"), "old");

        assertThat(run("pki", "init", "--dir", pki.toString())).isEqualTo(ExitCodes.USAGE);

        assertThat(printed.err()).contains("refusing to create a new CA: " + pki.resolve("coordinator.pem") + " already exists");
        assertThat(Files.readString(pki.resolve("coordinator.pem"))).isEqualTo("old");
        assertThat(pki.resolve("ca.pem")).doesNotExist();
        assertThat(pki.resolve("ca-key.pem")).doesNotExist();
    }

    @Test
    void issueFromInventoryWritesEveryHostsFilesWithItsAddresses() throws Exception {
        run("pki", "init", "--dir", pki.toString());
        Path inventory = tmp.resolve("inventory.yaml");
        Files.writeString(inventory, """
                all:
                  vars: {cluster_token: t, snapshot_endpoints: [http://127.0.0.1:2379]}
                  children:
                    beta:
                      hosts:
                        beta-0:
                          address: 127.0.0.1
                        beta-1:
                          address: 127.0.0.2
                          agent_endpoint: agent1.example.org:7443
                """);
        printed.forget();

        assertThat(run("pki", "issue", "--dir", pki.toString(), "--inventory", inventory.toString())).isEqualTo(ExitCodes.OK);

        X509Certificate ca = Pem.readCertificate(pki.resolve("ca.pem"));
        X509Certificate beta0 = Pem.readCertificate(pki.resolve("agents/beta-0/agent.pem"));
        X509Certificate beta1 = Pem.readCertificate(pki.resolve("agents/beta-1/agent.pem"));
        beta0.verify(ca.getPublicKey());
        assertThat(Pem.readCertificate(pki.resolve("agents/beta-0/ca.pem"))).isEqualTo(ca);
        assertThat(Role.of(beta0)).contains(Role.AGENT);
        assertThat(SubjectNames.commonName(beta1)).contains("beta-1");
        assertThat(new ArrayList<>(beta0.getSubjectAlternativeNames())).containsExactly(List.of(IP, "127.0.0.1"), List.of(DNS, "beta-0"));
        assertThat(new ArrayList<>(beta1.getSubjectAlternativeNames())).containsExactly(
                List.of(IP, "127.0.0.2"), List.of(DNS, "agent1.example.org"), List.of(DNS, "beta-1"));
        assertThat(mode(pki.resolve("agents/beta-1/agent-key.pem"))).isEqualTo("rw-------");
        assertThat(TlsContexts.grpcServer(pki.resolve("agents/beta-1/agent.pem"), pki.resolve("agents/beta-1/agent-key.pem"),
                pki.resolve("agents/beta-1/ca.pem")).isServer()).isTrue();
        assertThat(printed.out().lines().toList()).containsExactly(
                "beta-0: copy " + pki.resolve("agents/beta-0") + "/{ca.pem,agent.pem,agent-key.pem} to beta-0:/etc/etcd-rescue/tls/"
                        + " (agent-key.pem mode 0600, owned by the agent's user); SAN 127.0.0.1",
                "beta-1: copy " + pki.resolve("agents/beta-1") + "/{ca.pem,agent.pem,agent-key.pem} to beta-1:/etc/etcd-rescue/tls/"
                        + " (agent-key.pem mode 0600, owned by the agent's user); SAN 127.0.0.2, agent1.example.org");
    }

    @Test
    void issueForOneHostRefusesToOverwriteAndForceMovesTheOldFilesAside() throws Exception {
        run("pki", "init", "--dir", pki.toString());
        String[] issue = {"pki", "issue", "--dir", pki.toString(), "--host", "etcd-0", "--address", "127.0.0.5", "--address", "etcd-0.example.org"};
        assertThat(run(issue)).isEqualTo(ExitCodes.OK);
        Path cert = pki.resolve("agents/etcd-0/agent.pem");
        String first = Files.readString(cert);
        X509Certificate issued = Pem.readCertificate(cert);
        assertThat(new ArrayList<>(issued.getSubjectAlternativeNames())).containsExactly(
                List.of(IP, "127.0.0.5"), List.of(DNS, "etcd-0.example.org"), List.of(DNS, "etcd-0"));

        assertThat(run(issue)).isEqualTo(ExitCodes.USAGE);
        assertThat(printed.err()).contains("refusing to overwrite " + pki.resolve("agents/etcd-0/ca.pem"), "--force");
        assertThat(Files.readString(cert)).isEqualTo(first);

        printed.forget();
        String[] forced = Stream.concat(Stream.of(issue), Stream.of("--force")).toArray(String[]::new);
        assertThat(run(forced)).isEqualTo(ExitCodes.OK);
        assertThat(Files.readString(cert)).isNotEqualTo(first);
        try (Stream<Path> files = Files.list(cert.getParent())) {
            List<Path> aside = files.filter(f -> f.getFileName().toString().startsWith("agent.pem.old-")).toList();
            assertThat(aside).hasSize(1);
            assertThat(Files.readString(aside.get(0))).isEqualTo(first);
            assertThat(printed.out()).contains("moved aside: " + cert + " -> " + aside.get(0));
        }
    }

    @Test
    void issueWithoutCaSaysToRunInit() {
        assertThat(run("pki", "issue", "--dir", pki.toString(), "--host", "h", "--address", "127.0.0.1")).isEqualTo(ExitCodes.USAGE);
        assertThat(printed.err()).contains("no CA in " + pki, "etcd-rescue pki init --dir " + pki);
    }

    @Test
    void issueNeedsEitherInventoryOrHostWithAddress() {
        run("pki", "init", "--dir", pki.toString());
        assertThat(run("pki", "issue", "--dir", pki.toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(run("pki", "issue", "--dir", pki.toString(), "--host", "h")).isEqualTo(ExitCodes.USAGE);
        assertThat(run("pki", "issue", "--dir", pki.toString(), "--host", "h", "--address", "not valid")).isEqualTo(ExitCodes.USAGE);
        assertThat(printed.err()).contains("--host needs at least one --address", "'not valid' is neither");
    }

    @Test
    void badInventoryIsAUsageError() throws Exception {
        run("pki", "init", "--dir", pki.toString());
        Path inventory = tmp.resolve("inventory.yaml");
        Files.writeString(inventory, "all:\n  children:\n    c:\n      hosts:\n        h0: {}\n");
        assertThat(run("pki", "issue", "--dir", pki.toString(), "--inventory", inventory.toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(printed.err()).contains(inventory + ":5: cluster c, host h0, address: missing");
        assertThat(pki.resolve("agents")).doesNotExist();
    }

    @Test
    void helpShowsExamples() {
        assertThat(run("pki", "issue", "--help")).isEqualTo(ExitCodes.OK);
        assertThat(printed.out()).contains("Examples:", "--inventory", "/etc/etcd-rescue/tls/");
        assertThat(run("pki")).isEqualTo(ExitCodes.USAGE);
    }

    private static int run(String... args) {
        return Main.run(args);
    }

    private static String mode(Path file) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
    }
}
