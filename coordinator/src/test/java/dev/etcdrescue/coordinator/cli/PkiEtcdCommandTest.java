package dev.etcdrescue.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.Pem;
import dev.etcdrescue.pki.Role;
import dev.etcdrescue.pki.SubjectNames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code pki init-etcd-ca} and {@code pki issue-etcd}: etcd's own certificates for an inventory. */
@Timeout(60)
class PkiEtcdCommandTest {
    private static final int DNS = 2;
    private static final int IP = 7;

    @TempDir Path tmp;
    @RegisterExtension
    final StandardStreams printed = new StandardStreams();

    @Test
    void issuesAMemberCertificatePerHostAndTheCoordinatorsClientCertificateAndSaysWhereTheyGo() throws Exception {
        Path caDir = tmp.resolve("etcd-pki");
        assertThat(Main.run("pki", "init-etcd-ca", "--ca-dir", caDir.toString())).isEqualTo(ExitCodes.OK);
        Path inventory = Files.writeString(tmp.resolve("inventory.yaml"), """
                all:
                  children:
                    beta:
                      vars:
                        cluster_token: beta-restored
                        snapshot_endpoints: [https://10.0.0.1:2379]
                        scheme: https
                        etcd_cert_file: /etc/etcd/pki/member.pem
                        etcd_key_file: /etc/etcd/pki/member-key.pem
                        etcd_ca_file: /etc/etcd/pki/ca.pem
                        etcd_client_ca: etcd-pki/client/ca.pem
                        etcd_client_cert: etcd-pki/client/client.pem
                        etcd_client_key: etcd-pki/client/client-key.pem
                      hosts:
                        beta-0: {address: 10.0.0.1, listen_client_urls: ["https://10.0.0.1:22379", "https://127.0.0.1:22379"]}
                        beta-1: {address: 10.0.0.2, etcd_peer_cert_file: /etc/etcd/pki/peer.pem}
                """);
        printed.forget();
        assertThat(Main.run("pki", "issue-etcd", "--ca-dir", caDir.toString(), "-i", inventory.toString())).as(printed.err()).isEqualTo(ExitCodes.OK);

        CertificateAuthority ca = CertificateAuthority.load(caDir.resolve("ca.pem"), caDir.resolve("ca-key.pem"));
        X509Certificate beta0 = Pem.readCertificate(caDir.resolve("members/beta-0/member.pem"));
        beta0.verify(ca.certificate().getPublicKey());
        assertThat(Role.of(beta0)).contains(Role.ETCD_MEMBER);
        assertThat(SubjectNames.commonName(beta0)).contains("beta-0");
        assertThat(new ArrayList<>(beta0.getSubjectAlternativeNames())).containsExactly(
                List.of(IP, "10.0.0.1"), List.of(IP, "127.0.0.1"), List.of(DNS, "localhost"), List.of(IP, "0:0:0:0:0:0:0:1"),
                List.of(DNS, "beta-0"));
        assertThat(beta0.getExtendedKeyUsage()).containsExactlyInAnyOrder("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(caDir.resolve("members/beta-0/member-key.pem"))))
                .isEqualTo("rw-------");
        assertThat(Pem.readCertificate(caDir.resolve("members/beta-1/ca.pem"))).isEqualTo(ca.certificate());
        X509Certificate client = Pem.readCertificate(caDir.resolve("client/client.pem"));
        assertThat(SubjectNames.commonName(client)).contains("root");
        assertThat(Role.of(client)).contains(Role.ETCD_CLIENT);

        String said = printed.out();
        assertThat(said).contains("beta-0 (SAN 10.0.0.1, 127.0.0.1, localhost, ::1):")
                .contains(caDir.resolve("members/beta-0/member.pem") + " -> beta-0:/etc/etcd/pki/member.pem (etcd_cert_file, etcd_peer_cert_file)")
                .contains(caDir.resolve("members/beta-0/member-key.pem") + " -> beta-0:/etc/etcd/pki/member-key.pem (etcd_key_file; mode 0600")
                .contains("beta-0:/etc/etcd/pki/ca.pem (etcd_ca_file, etcd_peer_ca_file)")
                .contains("beta-1:/etc/etcd/pki/member.pem (etcd_cert_file; also to /etc/etcd/pki/peer.pem, etcd_peer_cert_file)")
                .contains("etcd_client_ca: " + caDir.resolve("client/ca.pem"))
                .contains("etcd_client_key: " + caDir.resolve("client/client-key.pem"));

        printed.forget();
        assertThat(Main.run("pki", "issue-etcd", "--ca-dir", caDir.toString(), "-i", inventory.toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(printed.err()).contains("refusing to overwrite").contains("--force");
        assertThat(Main.run("pki", "issue-etcd", "--ca-dir", caDir.toString(), "-i", inventory.toString(), "--force")).isEqualTo(ExitCodes.OK);
        assertThat(printed.out()).contains("moved aside: " + caDir.resolve("members/beta-0/member.pem") + " -> ");
    }

    @Test
    void initRefusesToReplaceAnEtcdCaAndIssueNeedsOne() throws Exception {
        Path caDir = tmp.resolve("etcd-pki");
        assertThat(Main.run("pki", "init-etcd-ca", "--ca-dir", caDir.toString())).isEqualTo(ExitCodes.OK);
        assertThat(Main.run("pki", "init-etcd-ca", "--ca-dir", caDir.toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(printed.err()).contains("refusing to create a new etcd CA");
        Path inventory = Files.writeString(tmp.resolve("inventory.yaml"), """
                all:
                  children:
                    beta:
                      vars: {cluster_token: t, snapshot_endpoints: [http://10.0.0.1:2379]}
                      hosts:
                        beta-0: {address: 10.0.0.1}
                """);
        assertThat(Main.run("pki", "issue-etcd", "--ca-dir", tmp.resolve("none").toString(), "-i", inventory.toString()))
                .isEqualTo(ExitCodes.USAGE);
        assertThat(printed.err()).contains("no etcd CA in").contains("pki init-etcd-ca");

        Path fleet = tmp.resolve("pki");
        assertThat(Main.run("pki", "init", "--dir", fleet.toString())).isEqualTo(ExitCodes.OK);
        assertThat(Main.run("pki", "issue-etcd", "--ca-dir", tmp.resolve("pki-ca").toString(), "-i", inventory.toString()))
                .isEqualTo(ExitCodes.USAGE);
        assertThat(printed.err()).contains("holds the fleet CA of 'pki init', not an etcd CA");
        printed.forget();
        assertThat(Main.run("pki", "issue-etcd", "--ca-dir", caDir.toString(), "-i", inventory.toString(), "--no-loopback-sans",
                "--san", "etcd.example.org")).isEqualTo(ExitCodes.OK);
        assertThat(printed.out()).contains("beta-0 (SAN 10.0.0.1, etcd.example.org):").contains("beta-0:/etc/etcd/pki/member.pem")
                .contains("set 'scheme: https'");
    }
}
