package dev.etcdrescue.coordinator.cli;

import static dev.etcdrescue.coordinator.cli.PkiCommand.*;

import dev.etcdrescue.coordinator.IoErrors;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.Inventory;
import dev.etcdrescue.coordinator.inventory.InventoryLoader;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.HostNames;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.Pem;
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
final class PkiIssue implements java.util.concurrent.Callable<Integer> {
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
