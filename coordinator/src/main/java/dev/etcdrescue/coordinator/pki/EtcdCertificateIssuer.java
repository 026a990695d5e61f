package dev.etcdrescue.coordinator.pki;

import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.EtcdAccess;
import dev.etcdrescue.coordinator.inventory.Inventory;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.inventory.MemberTls;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.HostNames;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.Pem;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * etcd's own certificates for an inventory, from the etcd cluster's CA: one member certificate per
 * host (for its client and peer URLs alike) and one client certificate for the coordinator. The
 * layout under {@code outDir}:
 * <pre>
 *   members/&lt;host&gt;/ca.pem, member.pem, member-key.pem    copy to the host (the inventory's etcd_*_file paths)
 *   client/ca.pem, client.pem, client-key.pem             the coordinator's etcd_client_ca, _cert, _key
 * </pre>
 */
public final class EtcdCertificateIssuer {
    /** Where the files go on a host when the inventory does not say (its scheme is still http). */
    public static final String DEFAULT_HOST_DIR = "/etc/etcd/pki/";
    private static final Set<String> WILDCARDS = Set.of("0.0.0.0", "::", "0:0:0:0:0:0:0:0");

    private EtcdCertificateIssuer() {}

    /** One host's files: where they are written here and where the inventory wants them on the host. */
    public record MemberFiles(String host, List<String> sans, Path ca, Path cert, Path key, MemberTls onHost) {
        public List<Path> all() {
            return List.of(ca, cert, key);
        }
    }

    public record ClientFiles(String commonName, Path ca, Path cert, Path key) {
        public List<Path> all() {
            return List.of(ca, cert, key);
        }
    }

    public static Path caCert(Path caDir) {
        return caDir.resolve("ca.pem");
    }

    public static Path caKey(Path caDir) {
        return caDir.resolve("ca-key.pem");
    }

    /**
     * Loopback names every member certificate gets by default, as kubeadm's do: local clients dial
     * 127.0.0.1, and etcd checks a peer's certificate against the address its connection comes from,
     * which is a loopback address when members share a host's loopback.
     */
    public static final List<String> LOOPBACK_SANS = List.of("localhost", "127.0.0.1", "::1");

    /** What {@link #issue} writes for every member of the inventory, in inventory order, each with {@code extraSans}. */
    public static List<MemberFiles> memberFiles(Inventory inventory, Path outDir, List<String> extraSans) {
        List<MemberFiles> files = new ArrayList<>();
        for (ClusterPlan cluster : inventory.clusters()) {
            for (MemberPlan m : cluster.members()) {
                Path dir = outDir.resolve("members").resolve(m.hostName());
                MemberTls onHost = m.tls() != null ? m.tls() : new MemberTls(DEFAULT_HOST_DIR + "member.pem",
                        DEFAULT_HOST_DIR + "member-key.pem", DEFAULT_HOST_DIR + "ca.pem", DEFAULT_HOST_DIR + "member.pem",
                        DEFAULT_HOST_DIR + "member-key.pem", DEFAULT_HOST_DIR + "ca.pem");
                List<String> sans = sans(m);
                extraSans.stream().filter(san -> !sans.contains(san)).forEach(sans::add);
                files.add(new MemberFiles(m.hostName(), sans, dir.resolve("ca.pem"), dir.resolve("member.pem"),
                        dir.resolve("member-key.pem"), onHost));
            }
        }
        return files;
    }

    public static ClientFiles clientFiles(Path outDir, String commonName) {
        Path dir = outDir.resolve("client");
        return new ClientFiles(commonName, dir.resolve("ca.pem"), dir.resolve("client.pem"), dir.resolve("client-key.pem"));
    }

    /**
     * The names a member is dialled by: its address, the hosts of its advertised URLs, and the
     * specific addresses it listens on (127.0.0.1 for local clients, say); never a wildcard.
     */
    static List<String> sans(MemberPlan m) {
        List<String> sans = new ArrayList<>();
        sans.add(m.address());
        List<URI> urls = new ArrayList<>(m.clientUrls());
        urls.addAll(m.peerUrls());
        urls.addAll(m.listenClientUrls());
        urls.addAll(m.listenPeerUrls());
        for (URI url : urls) {
            String host = url.getHost().startsWith("[") ? url.getHost().substring(1, url.getHost().length() - 1) : url.getHost();
            if (!WILDCARDS.contains(host) && !sans.contains(host) && (HostNames.isIpLiteral(host) || HostNames.isDnsName(host))) {
                sans.add(host);
            }
        }
        return sans;
    }

    /** Writes every member's files and the client's; files must not exist (the caller moved them aside). */
    public static void issue(CertificateAuthority ca, List<MemberFiles> members, ClientFiles client, Duration validity)
            throws IOException {
        for (MemberFiles m : members) {
            IssuedCertificate cert = ca.issueEtcdMember(m.host(), m.sans(), validity);
            Pem.writeCertificate(m.ca(), ca.certificate());
            cert.writeTo(m.cert(), m.key());
        }
        IssuedCertificate coordinator = ca.issueEtcdClient(client.commonName(), validity);
        Pem.writeCertificate(client.ca(), ca.certificate());
        coordinator.writeTo(client.cert(), client.key());
    }

    /** The inventory lines that point the coordinator at the client files. */
    public static List<String> inventoryLines(ClientFiles client) {
        return List.of("etcd_client_ca: " + client.ca(), "etcd_client_cert: " + client.cert(), "etcd_client_key: " + client.key());
    }

    /** What the coordinator's access already names, to tell the operator when it differs from what was issued. */
    public static boolean matches(EtcdAccess access, ClientFiles client) {
        return client.ca().equals(access.ca()) && client.cert().equals(access.cert()) && client.key().equals(access.key());
    }
}
