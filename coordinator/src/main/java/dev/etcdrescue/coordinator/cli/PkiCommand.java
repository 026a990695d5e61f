package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.IoErrors;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.Inventory;
import dev.etcdrescue.coordinator.inventory.InventoryLoader;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.pki.EtcdCertificateIssuer;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.HostNames;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.Pem;
import dev.etcdrescue.pki.PublicKeyPins;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "pki", mixinStandardHelpOptions = true,
        description = {
            "Creates the fleet CA and issues the coordinator's and the agents' certificates.",
            "",
            "The coordinator and every agent talk over mutual TLS: both sides present a certificate of the same CA,",
            "and the subject's OU says who is who (OU=coordinator, OU=agent)."
        },
        subcommands = {PkiCommand.Init.class, PkiCommand.Issue.class, PkiIssueCoordinator.class, PkiRevoke.class,
            PkiCommand.InitEtcdCa.class, PkiCommand.IssueEtcd.class, CommandLine.HelpCommand.class},
        footer = {
            "",
            "Typical first run (an inventory's tls_dir defaults to ./pki beside it; the CA goes to ./pki-ca):",
            "  etcd-rescue pki init  --dir ./pki",
            "  etcd-rescue pki issue --dir ./pki --inventory inventory.yaml",
            "  then copy ./pki/agents/<host>/* to /etc/etcd-rescue/tls/ on each host, and ./pki-ca somewhere offline.",
            "At an incident, a coordinator certificate valid for a few days:",
            "  etcd-rescue pki issue-coordinator --dir ./pki --ca-dir /media/offline/pki-ca",
            "",
            "etcd's own certificates (https client and peer URLs), from the etcd cluster's CA:",
            "  etcd-rescue pki init-etcd-ca --ca-dir ./etcd-pki          (or use the cluster's existing CA files)",
            "  etcd-rescue pki issue-etcd   --ca-dir ./etcd-pki --inventory inventory.yaml"
        })
public final class PkiCommand implements Runnable {
    /** Where the agent's configuration expects its TLS files (docs/architecture.md, agent.yaml). */
    static final String AGENT_TLS_DIR = "/etc/etcd-rescue/tls/";
    static final String DEFAULT_COORDINATOR_CN = "etcd-rescue-coordinator";
    /** The fleet CA's subject CN: issue-etcd refuses a CA of that name, so etcd's certificates never come from it. */
    static final String FLEET_CA_CN = "etcd-rescue fleet CA";

    @Override
    public void run() {
        throw usage("missing command: 'pki init', 'pki issue', 'pki init-etcd-ca' or 'pki issue-etcd' (see 'etcd-rescue pki --help')");
    }

    @Command(name = "init", mixinStandardHelpOptions = true, sortOptions = false,
            header = "Creates the fleet CA and the coordinator's certificate.",
            description = {
                "Creates the fleet CA in CA_DIR and the coordinator's client certificate in DIR:",
                "  CA_DIR/ca.pem, ca-key.pem   the CA; keep it offline: only pki issue, issue-coordinator and revoke need it",
                "  DIR/ca.pem                  the CA's certificate, which the coordinator trusts",
                "  DIR/coordinator.pem,        the coordinator's certificate, valid 7 days unless --validity says otherwise",
                "  DIR/coordinator-key.pem     (CN=etcd-rescue-coordinator, OU=coordinator)",
                "",
                "Refuses if any of these files exists: a new CA would lock out every agent certified by the old one.",
                ""
            },
            footer = {
                "",
                "Examples:",
                "  etcd-rescue pki init --dir ./pki",
                "  etcd-rescue pki init --dir ./pki --ca-dir /media/offline/pki-ca --validity P1D"
            })
    static final class Init implements java.util.concurrent.Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Option(names = "--dir", required = true, paramLabel = "DIR",
                description = "Directory for the coordinator's files (created if missing).")
        Path dir;

        @Option(names = "--ca-dir", paramLabel = "CA_DIR",
                description = "Directory for the CA's certificate and key (default: DIR-ca beside DIR); not DIR itself.")
        Path caDir;

        @Option(names = "--ca-validity", defaultValue = "P3650D", paramLabel = "DURATION",
                description = "How long the CA is valid, ISO-8601 (default: ${DEFAULT-VALUE}).")
        Duration caValidity;

        @Option(names = "--validity", defaultValue = "P7D", paramLabel = "DURATION",
                description = "How long the coordinator's certificate is valid, ISO-8601 (default: ${DEFAULT-VALUE});"
                        + " renew it with 'pki issue-coordinator'.")
        Duration validity;

        @Option(names = "--coordinator-cn", defaultValue = DEFAULT_COORDINATOR_CN, paramLabel = "NAME",
                description = "Common name of the coordinator's certificate (agents may pin it with coordinator_cn; default: ${DEFAULT-VALUE}).")
        String coordinatorCn;

        @Override
        public Integer call() {
            requirePositive("--ca-validity", caValidity);
            requirePositive("--validity", validity);
            Path cas = caDir == null ? defaultCaDir(dir) : caDir;
            if (cas.toAbsolutePath().normalize().equals(dir.toAbsolutePath().normalize())) {
                throw usage("--ca-dir must differ from --dir: the CA key is not kept beside the coordinator's key");
            }
            Path caCert = cas.resolve("ca.pem");
            Path caKey = cas.resolve("ca-key.pem");
            Path trust = dir.resolve("ca.pem");
            Path cert = dir.resolve("coordinator.pem");
            Path key = dir.resolve("coordinator-key.pem");
            List<Path> existing = existing(List.of(caCert, caKey, trust, cert, key));
            if (!existing.isEmpty()) {
                throw new UserException(FailureKind.BAD_INPUT, "refusing to create a new CA: " + join(existing) + " already exist"
                        + (existing.size() == 1 ? "s" : "") + ". A new CA would lock out every agent certified by the old one; "
                        + "to issue agent certificates from the existing CA use 'etcd-rescue pki issue --dir " + dir
                        + "', or pick another --dir");
            }
            CertificateAuthority ca = CertificateAuthority.create(FLEET_CA_CN, caValidity);
            IssuedCertificate coordinator = ca.issueCoordinator(coordinatorCn, validity);
            try {
                ca.writeTo(caCert, caKey);
                Pem.writeCertificate(trust, ca.certificate());
                coordinator.writeTo(cert, key);
            } catch (FileAlreadyExistsException e) {
                throw new UserException(FailureKind.BAD_INPUT, "refusing to overwrite " + e.getFile() + ", created meanwhile by someone else", e);
            } catch (IOException e) {
                throw new UserException(FailureKind.PHASE_FAILED, "cannot write the PKI files in " + dir + ": " + IoErrors.describe(e), e);
            }
            PrintWriter out = spec.commandLine().getOut();
            out.println("created CA:          " + caCert + ", " + caKey + " (mode 0600; keep " + cas
                    + " offline, off the etcd hosts and away from " + dir + ")");
            out.println("created coordinator: " + cert + ", " + key + " (CN=" + coordinatorCn + ", OU=coordinator, "
                    + PkiIssueCoordinator.validFor(coordinator) + ")");
            out.println("coordinator key pin: " + PublicKeyPins.spkiSha256(coordinator.certificate())
                    + " (agent.yaml tls.coordinator_spki_sha256, optional)");
            out.println("next: etcd-rescue pki issue --dir " + dir + (caDir == null ? "" : " --ca-dir " + caDir)
                    + " --inventory INVENTORY");
            out.flush();
            return ExitCodes.OK;
        }
    }

    @Command(name = "issue", mixinStandardHelpOptions = true, sortOptions = false,
            header = "Issues the agents' certificates, one per host.",
            description = {
                "Issues agent certificates from the CA in DIR, one per host, into DIR/agents/<host>/:",
                "  ca.pem, agent.pem, agent-key.pem",
                "Copy them to " + AGENT_TLS_DIR + " on that host, where the agent's configuration expects them.",
                "",
                "A certificate has CN=<host>, OU=agent, and the host's address (and its agent_endpoint host, if different)",
                "as subject alternative names: the coordinator checks it against the address it dials.",
                "",
                "Existing files are never overwritten: the command refuses, or with --force moves them aside to "
                    + "<file>.old-<timestamp>.",
                ""
            },
            footer = {
                "",
                "Examples:",
                "  etcd-rescue pki issue --dir ./pki --inventory inventory.yaml",
                "  etcd-rescue pki issue --dir ./pki --host beta-0 --address 192.168.149.60",
                "  etcd-rescue pki issue --dir ./pki --host etcd-0 --address 10.0.0.5 \\",
                "      --address etcd-0.example.org --force"
            })
    static final class Issue implements java.util.concurrent.Callable<Integer> {
        private static final Pattern HOST_DIR_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]*");
        private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT);

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Option(names = "--dir", required = true, paramLabel = "DIR", description = "The coordinator's directory made by 'pki init'.")
        Path dir;

        @Option(names = "--ca-dir", paramLabel = "CA_DIR",
                description = "The CA's directory (default: DIR-ca beside DIR, or DIR itself when it holds ca-key.pem).")
        Path caDir;

        @Option(names = {"-i", "--inventory"}, paramLabel = "FILE", description = "Issue for every host of this inventory.")
        Path inventory;

        @Option(names = "--host", paramLabel = "NAME", description = "Issue for this one host (its inventory host name); needs --address.")
        String host;

        @Option(names = "--address", paramLabel = "ADDR", description = "IP or DNS name the coordinator dials for --host; repeat for more.")
        List<String> addresses = new ArrayList<>();

        @Option(names = "--validity", defaultValue = "P825D", paramLabel = "DURATION",
                description = "How long the certificates are valid, ISO-8601 (default: ${DEFAULT-VALUE}).")
        Duration validity;

        @Option(names = "--force", description = "Move existing files aside to <file>.old-<timestamp> instead of refusing.")
        boolean force;

        @Override
        public Integer call() {
            requirePositive("--validity", validity);
            Map<String, List<String>> hosts = hosts();
            CertificateAuthority ca = loadCa(caDir, dir);
            Map<String, List<Path>> files = new LinkedHashMap<>();
            for (String name : hosts.keySet()) {
                Path hostDir = dir.resolve("agents").resolve(name);
                files.put(name, List.of(hostDir.resolve("ca.pem"), hostDir.resolve("agent.pem"), hostDir.resolve("agent-key.pem")));
            }
            List<Path> existing = existing(files.values().stream().flatMap(List::stream).toList());
            if (!existing.isEmpty() && !force) {
                throw new UserException(FailureKind.BAD_INPUT, "refusing to overwrite " + join(existing)
                        + ": move them away, or pass --force to move them aside to <file>.old-<timestamp>");
            }
            PrintWriter out = spec.commandLine().getOut();
            String stamp = STAMP.format(ZonedDateTime.now(ZoneOffset.UTC));
            for (Path old : existing) {
                out.println("moved aside: " + old + " -> " + moveAside(old, stamp));
            }
            for (Map.Entry<String, List<String>> entry : hosts.entrySet()) {
                List<Path> target = files.get(entry.getKey());
                IssuedCertificate agent;
                try {
                    agent = ca.issueAgent(entry.getKey(), entry.getValue(), validity);
                } catch (IllegalArgumentException e) {
                    throw new UserException(FailureKind.BAD_INPUT, "host " + entry.getKey() + ": " + e.getMessage());
                }
                try {
                    Pem.writeCertificate(target.get(0), ca.certificate());
                    agent.writeTo(target.get(1), target.get(2));
                } catch (FileAlreadyExistsException e) {
                    throw new UserException(FailureKind.BAD_INPUT, "refusing to overwrite " + e.getFile() + ", created meanwhile by someone else", e);
                } catch (IOException e) {
                    throw new UserException(FailureKind.PHASE_FAILED, "cannot write " + target.get(1).getParent() + ": " + IoErrors.describe(e), e);
                }
                out.println(entry.getKey() + ": copy " + target.get(1).getParent() + "/{ca.pem,agent.pem,agent-key.pem} to "
                        + entry.getKey() + ":" + AGENT_TLS_DIR + " (agent-key.pem mode 0600, owned by the agent's user); "
                        + "SAN " + String.join(", ", entry.getValue()));
            }
            out.flush();
            return ExitCodes.OK;
        }

        /** Host name to the addresses its certificate must carry, in order. */
        private Map<String, List<String>> hosts() {
            if ((inventory == null) == (host == null)) {
                throw usage("give either --inventory FILE or --host NAME --address ADDR");
            }
            Map<String, List<String>> hosts = new LinkedHashMap<>();
            if (host != null) {
                if (addresses.isEmpty()) {
                    throw usage("--host needs at least one --address (the IP or DNS name the coordinator dials)");
                }
                for (String address : addresses) {
                    if (!HostNames.isIpLiteral(address) && !HostNames.isDnsName(address)) {
                        throw usage("--address '" + address + "' is neither an IP address nor a DNS name");
                    }
                }
                hosts.put(requireDirName(host), List.copyOf(addresses));
                return hosts;
            }
            if (!addresses.isEmpty()) {
                throw usage("--address goes with --host; with --inventory the addresses come from the inventory");
            }
            Inventory loaded = InventoryLoader.load(inventory);
            for (ClusterPlan cluster : loaded.clusters()) {
                for (MemberPlan member : cluster.members()) {
                    List<String> sans = new ArrayList<>(List.of(member.address()));
                    if (!member.agentHost().equalsIgnoreCase(member.address())) {
                        sans.add(member.agentHost());
                    }
                    hosts.put(requireDirName(member.hostName()), sans);
                }
            }
            return hosts;
        }


        static String requireDirName(String name) {
            if (!HOST_DIR_NAME.matcher(name).matches()) {
                throw new UserException(FailureKind.BAD_INPUT, "host name '" + name + "' cannot name a directory under agents/: "
                        + "use letters, digits, '.', '_', '-' in the inventory's host names");
            }
            return name;
        }

        static Path moveAside(Path file, String stamp) {
            for (int attempt = 0; ; attempt++) {
                Path aside = file.resolveSibling(file.getFileName() + ".old-" + stamp + (attempt == 0 ? "" : "-" + attempt));
                try {
                    // No ATOMIC_MOVE: on Linux it would silently replace an existing target.
                    return Files.move(file, aside);
                } catch (FileAlreadyExistsException e) {
                    // Two runs in the same second: take the next suffix.
                } catch (IOException e) {
                    throw new UserException(FailureKind.PHASE_FAILED, "cannot move " + file + " aside to " + aside + ": " + IoErrors.describe(e), e);
                }
            }
        }
    }

    @Command(name = "init-etcd-ca", mixinStandardHelpOptions = true, sortOptions = false,
            header = "Creates a CA for etcd's own certificates (https client and peer URLs).",
            description = {
                "Creates DIR/ca.pem and DIR/ca-key.pem: the CA that signs the etcd members' certificates and the",
                "coordinator's etcd client certificate (see 'pki issue-etcd'). It is not the fleet CA of 'pki init'.",
                "A cluster that already has a CA (kubeadm: /etc/kubernetes/pki/etcd/ca.crt and ca.key) needs none:",
                "copy those two files to DIR/ca.pem and DIR/ca-key.pem instead (RSA and EC keys both work).",
                ""
            },
            footer = {"", "Example:", "  etcd-rescue pki init-etcd-ca --ca-dir ./etcd-pki"})
    static final class InitEtcdCa implements java.util.concurrent.Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Option(names = "--ca-dir", required = true, paramLabel = "DIR", description = "Directory for the etcd CA (created if missing).")
        Path caDir;

        @Option(names = "--ca-validity", defaultValue = "P3650D", paramLabel = "DURATION",
                description = "How long the CA is valid, ISO-8601 (default: ${DEFAULT-VALUE}).")
        Duration caValidity;

        @Override
        public Integer call() {
            requirePositive("--ca-validity", caValidity);
            Path cert = EtcdCertificateIssuer.caCert(caDir);
            Path key = EtcdCertificateIssuer.caKey(caDir);
            List<Path> present = existing(List.of(cert, key));
            if (!present.isEmpty()) {
                throw new UserException(FailureKind.BAD_INPUT, "refusing to create a new etcd CA: " + join(present) + " already exist"
                        + (present.size() == 1 ? "s" : "") + ". Members certified by the old CA would no longer trust the new ones;"
                        + " issue from it with 'etcd-rescue pki issue-etcd --ca-dir " + caDir + "', or pick another --ca-dir");
            }
            try {
                CertificateAuthority.create("etcd-rescue etcd CA", caValidity).writeTo(cert, key);
            } catch (FileAlreadyExistsException e) {
                throw new UserException(FailureKind.BAD_INPUT, "refusing to overwrite " + e.getFile() + ", created meanwhile by someone else", e);
            } catch (IOException e) {
                throw new UserException(FailureKind.PHASE_FAILED, "cannot write the etcd CA in " + caDir + ": " + IoErrors.describe(e), e);
            }
            PrintWriter out = spec.commandLine().getOut();
            out.println("created etcd CA: " + cert + ", " + key + " (mode 0600; keep it off the etcd hosts)");
            out.println("next: etcd-rescue pki issue-etcd --ca-dir " + caDir + " --inventory INVENTORY");
            out.flush();
            return ExitCodes.OK;
        }
    }

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
    static final class IssueEtcd implements java.util.concurrent.Callable<Integer> {
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
            members.forEach(m -> Issue.requireDirName(m.host()));
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
                printer.println("moved aside: " + old + " -> " + Issue.moveAside(old, stamp));
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

    /** Where 'pki init' puts the CA when --ca-dir is not given: beside DIR, named DIR-ca. */
    static Path defaultCaDir(Path dir) {
        Path absolute = dir.toAbsolutePath().normalize();
        return absolute.resolveSibling(absolute.getFileName() + "-ca");
    }

    /**
     * The fleet CA from {@code caDir}; without one, from DIR-ca, or from DIR itself for a PKI made
     * before the CA had its own directory.
     */
    static CertificateAuthority loadCa(Path caDir, Path dir) {
        Path cas = caDir != null ? caDir
                : Files.isRegularFile(dir.resolve("ca-key.pem")) ? dir : defaultCaDir(dir);
        Path cert = cas.resolve("ca.pem");
        Path key = cas.resolve("ca-key.pem");
        if (!Files.isRegularFile(cert) || !Files.isRegularFile(key)) {
            throw new UserException(FailureKind.BAD_INPUT, "no CA in " + cas + " (" + cert + " and " + key + " are needed): "
                    + "create it with 'etcd-rescue pki init --dir " + dir + "', or name its directory with --ca-dir");
        }
        try {
            return CertificateAuthority.load(cert, key);
        } catch (IOException | RuntimeException e) {
            throw new UserException(FailureKind.BAD_INPUT, "cannot load the CA from " + cas + ": " + e.getMessage(), e);
        }
    }

    static List<Path> existing(List<Path> files) {
        return files.stream().filter(f -> Files.exists(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)).toList();
    }

    static String join(List<Path> files) {
        return String.join(", ", files.stream().map(Path::toString).toList());
    }

    /**
     * Bad arguments found while running: a {@link UserException}, because the execution handler
     * would report a picocli ParameterException thrown from here as an internal error.
     */
    static UserException usage(String message) {
        return new UserException(FailureKind.BAD_INPUT, message);
    }

    static void requirePositive(String option, Duration value) {
        if (value.isNegative() || value.isZero()) {
            throw usage(option + " must be positive, got " + value);
        }
    }
}
