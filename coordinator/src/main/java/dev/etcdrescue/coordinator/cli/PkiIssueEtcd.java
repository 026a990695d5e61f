package dev.etcdrescue.coordinator.cli;

import static dev.etcdrescue.coordinator.cli.PkiCommand.*;

import dev.etcdrescue.coordinator.IoErrors;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.Inventory;
import dev.etcdrescue.coordinator.inventory.InventoryLoader;
import dev.etcdrescue.coordinator.pki.EtcdCertificateIssuer;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.HostNames;
import dev.etcdrescue.pki.SubjectNames;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "issue-etcd", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Issues etcd's certificates for every host of an inventory, and the coordinator's etcd client certificate.",
        description = {
            "From the etcd CA in DIR (ca.pem, ca-key.pem), writes into OUT (default: DIR):",
            "  members/<host>/ca.pem, member.pem, member-key.pem   one member certificate per host, for its client and",
            "                                                        peer URLs: CN=<host>, SAN = the host's address(es),",
            "                                                        EKU serverAuth + clientAuth",
            "  client/ca.pem, client.pem, client-key.pem            the coordinator's etcd client certificate (CN=NAME)",
            "and prints which file goes where: the inventory's etcd_cert_file, etcd_key_file, etcd_ca_file (and the",
            "etcd_peer_* ones) on each host, and etcd_client_ca, etcd_client_cert, etcd_client_key for the coordinator.",
            "",
            "With etcd's auth enabled, etcd takes the client certificate's CN as the user: the snapshot needs a user",
            "with the root role, and a member that lost quorum accepts only the certificate (no password login).",
            "",
            "Existing files are never overwritten: the command refuses, or with --force moves them aside to <file>.old-<timestamp>.",
            ""
        },
        footer = {"", "Example:", "  etcd-rescue pki issue-etcd --ca-dir ./etcd-pki --inventory inventory.yaml"})
final class PkiIssueEtcd implements java.util.concurrent.Callable<Integer> {
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT);

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--ca-dir", required = true, paramLabel = "DIR", description = "Directory with the etcd CA: ca.pem, ca-key.pem.")
    Path caDir;

    @Option(names = {"-i", "--inventory"}, required = true, paramLabel = "FILE", description = "Issue for every host of this inventory.")
    Path inventory;

    @Option(names = "--out", paramLabel = "OUT", description = "Where to write the certificates (default: the --ca-dir).")
    Path out;

    @Option(names = "--client-cn", defaultValue = "root", paramLabel = "NAME",
            description = "CN of the coordinator's etcd client certificate: with etcd's auth enabled, an etcd user with "
                    + "the root role (default: ${DEFAULT-VALUE}).")
    String clientCn;

    @Option(names = "--validity", defaultValue = "P825D", paramLabel = "DURATION",
            description = "How long the certificates are valid, ISO-8601 (default: ${DEFAULT-VALUE}).")
    Duration validity;

    @Option(names = "--san", paramLabel = "NAME", description = "Another IP or DNS name for every member certificate "
            + "(a load balancer's, say); repeat for more.")
    List<String> extraSans = new ArrayList<>();

    @Option(names = "--loopback-sans", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Add localhost, 127.0.0.1 and ::1 to every member certificate, as kubeadm does (default; "
                    + "--no-loopback-sans to leave them out).")
    boolean loopbackSans;

    @Option(names = "--force", description = "Move existing files aside to <file>.old-<timestamp> instead of refusing.")
    boolean force;

    @Override
    public Integer call() {
        requirePositive("--validity", validity);
        for (String san : extraSans) {
            if (!HostNames.isIpLiteral(san) && !HostNames.isDnsName(san)) {
                throw usage("--san '" + san + "' is neither an IP address nor a DNS name");
            }
        }
        List<String> sans = new ArrayList<>(extraSans);
        if (loopbackSans) {
            sans.addAll(EtcdCertificateIssuer.LOOPBACK_SANS);
        }
        if (clientCn.isBlank() || clientCn.chars().anyMatch(c -> c < 0x21 || c == 0x7f)) {
            throw usage("--client-cn '" + clientCn + "' is not an etcd user name (no spaces or control characters)");
        }
        Inventory loaded = InventoryLoader.load(inventory);
        Path target = out != null ? out : caDir;
        List<EtcdCertificateIssuer.MemberFiles> members = EtcdCertificateIssuer.memberFiles(loaded, target, sans);
        members.forEach(m -> PkiIssue.requireDirName(m.host()));
        EtcdCertificateIssuer.ClientFiles client = EtcdCertificateIssuer.clientFiles(target, clientCn);
        CertificateAuthority ca = loadEtcdCa();
        List<Path> files = new ArrayList<>();
        members.forEach(m -> files.addAll(m.all()));
        files.addAll(client.all());
        List<Path> present = existing(files);
        if (!present.isEmpty() && !force) {
            throw new UserException(FailureKind.BAD_INPUT, "refusing to overwrite " + join(present)
                    + ": move them away, or pass --force to move them aside to <file>.old-<timestamp>");
        }
        PrintWriter printer = spec.commandLine().getOut();
        String stamp = STAMP.format(ZonedDateTime.now(ZoneOffset.UTC));
        for (Path old : present) {
            printer.println("moved aside: " + old + " -> " + PkiIssue.moveAside(old, stamp));
        }
        try {
            EtcdCertificateIssuer.issue(ca, members, client, validity);
        } catch (IllegalArgumentException e) {
            throw new UserException(FailureKind.BAD_INPUT, "cannot issue: " + e.getMessage());
        } catch (FileAlreadyExistsException e) {
            throw new UserException(FailureKind.BAD_INPUT, "refusing to overwrite " + e.getFile() + ", created meanwhile by someone else", e);
        } catch (IOException e) {
            throw new UserException(FailureKind.PHASE_FAILED, "cannot write the etcd certificates in " + target + ": " + IoErrors.describe(e), e);
        }
        for (EtcdCertificateIssuer.MemberFiles m : members) {
            var on = m.onHost();
            printer.println(m.host() + " (SAN " + String.join(", ", m.sans()) + "):");
            printer.println("  " + m.cert() + " -> " + m.host() + ":" + on.certFile() + " (etcd_cert_file"
                    + (on.peerCertFile().equals(on.certFile()) ? ", etcd_peer_cert_file)" : "; also to " + on.peerCertFile()
                            + ", etcd_peer_cert_file)"));
            printer.println("  " + m.key() + " -> " + m.host() + ":" + on.keyFile() + " (etcd_key_file"
                    + (on.peerKeyFile().equals(on.keyFile()) ? "" : "; also to " + on.peerKeyFile())
                            + "; mode 0600, owned by etcd's service user)");
            printer.println("  " + m.ca() + " -> " + m.host() + ":" + on.caFile() + " (etcd_ca_file"
                    + (on.peerCaFile().equals(on.caFile()) ? ", etcd_peer_ca_file)" : "; also to " + on.peerCaFile() + ")"));
        }
        printer.println("coordinator (CN=" + clientCn + "), in the inventory's cluster vars:");
        EtcdCertificateIssuer.inventoryLines(client).forEach(line -> printer.println("  " + line));
        boolean anyHttp = loaded.clusters().stream().flatMap(c -> c.members().stream()).anyMatch(m -> m.tls() == null);
        if (anyHttp) {
            printer.println("note: hosts with 'scheme: http' in the inventory got paths under "
                    + EtcdCertificateIssuer.DEFAULT_HOST_DIR + "; set 'scheme: https' and the etcd_*_file variables to use them");
        }
        printer.flush();
        return ExitCodes.OK;
    }

    private CertificateAuthority loadEtcdCa() {
        Path cert = EtcdCertificateIssuer.caCert(caDir);
        Path key = EtcdCertificateIssuer.caKey(caDir);
        if (!Files.isRegularFile(cert) || !Files.isRegularFile(key)) {
            throw new UserException(FailureKind.BAD_INPUT, "no etcd CA in " + caDir + " (" + cert + " and " + key + " are needed): "
                    + "create one with 'etcd-rescue pki init-etcd-ca --ca-dir " + caDir + "', or copy the cluster's CA there");
        }
        CertificateAuthority ca;
        try {
            ca = CertificateAuthority.load(cert, key);
        } catch (IOException | RuntimeException e) {
            throw new UserException(FailureKind.BAD_INPUT, "cannot load the etcd CA from " + caDir + ": " + e.getMessage(), e);
        }
        if (SubjectNames.commonName(ca.certificate()).filter(FLEET_CA_CN::equals).isPresent()) {
            throw new UserException(FailureKind.BAD_INPUT, caDir + " holds the fleet CA of 'pki init', not an etcd CA: a member"
                    + " certificate from it could pass as that host's agent. Use the cluster's CA or 'pki init-etcd-ca'");
        }
        return ca;
    }
}
