package dev.etcdrescue.coordinator.cli;

import static dev.etcdrescue.coordinator.cli.SnapshotCommand.*;

import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.coordinator.snapshot.SnapshotTaker;
import dev.etcdrescue.coordinator.snapshot.SourceMember;
import dev.etcdrescue.snapshotformat.bolt.BoltSnapshot;
import dev.etcdrescue.snapshotformat.bolt.NotASnapshotException;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.io.IOException;
import java.net.URI;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "save", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Saves a snapshot of a running cluster to FILE.",
        description = {
            "Asks every endpoint for its status and snapshots the one with the highest revision, into FILE.part,",
            "renamed to FILE when complete. Then checks the file as 'snapshot status' does and prints its facts.",
            "Never overwrites: an existing FILE is refused. A file that fails the checks is moved aside to",
            "FILE.corrupt (the command fails), so FILE only ever names a good snapshot.",
            "",
            "With --via-agent HOST (and -i), the etcd-rescue agent on HOST takes the snapshot of its own member",
            "(etcdctl snapshot save on that host) and streams it here over mTLS: for members whose client port",
            "this machine cannot reach. The member's URL, TLS files (paths on HOST) and etcd user come from the",
            "inventory (snapshot_endpoints, etcd_ca_file/etcd_cert_file/etcd_key_file, etcd_user with",
            "etcd_password_file or $ETCD_RESCUE_ETCD_PASSWORD); the options below override them. The agent is",
            "claimed for the download, so this waits for no recovery and no recovery runs beside it.",
            ""
        },
        footer = {
            "",
            "Examples:",
            "  etcd-rescue snapshot save --endpoints http://127.0.0.1:2379 backup.db",
            "  etcd-rescue snapshot save --endpoints http://10.0.0.5:2379,http://10.0.0.6:2379 \\",
            "      /backup/etcd-$(date +%%F).db -w json",
            "  etcd-rescue snapshot save -i inventory.yaml --via-agent etcd-1 /backup/etcd-1.db",
            "  etcd-rescue snapshot save -i inventory.yaml --via-agent etcd-1 --endpoint https://127.0.0.1:2379 \\",
            "      --etcd-ca-file /etc/etcd/pki/ca.pem --etcd-cert-file /etc/etcd/pki/backup.pem \\",
            "      --etcd-key-file /etc/etcd/pki/backup-key.pem /backup/etcd-1.db",
            "",
            "Exit codes: 0 saved and checked, 1 no endpoint answered, the agent or etcd refused, or the snapshot",
            "failed its checks, 2 bad input (FILE exists, bad URL, missing directory, unknown host)."
        })
final class SnapshotSave implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--endpoints", split = ",", paramLabel = "URL",
            description = "Client URLs of the members, comma-separated (http://HOST:PORT); the one with the highest "
                    + "revision is used. Or use --via-agent.")
    List<String> endpoints;

    @Option(names = {"-i", "--inventory"}, paramLabel = "FILE",
            description = "With --via-agent: the inventory that names the host, its agent and its etcd access.")
    Path inventory;

    @Option(names = "--via-agent", paramLabel = "HOST",
            description = "Have the agent on this inventory host snapshot its own member and stream the file here.")
    String viaAgent;

    @Option(names = "--endpoint", paramLabel = "URL",
            description = "With --via-agent: the member's client URL as seen on its host (default: the entry of "
                    + "snapshot_endpoints on the host's address).")
    String endpoint;

    @Option(names = "--etcd-ca-file", paramLabel = "PATH",
            description = "With --via-agent and https: the etcd CA, a path on the host (default: etcd_ca_file).")
    String etcdCaFile;

    @Option(names = "--etcd-cert-file", paramLabel = "PATH",
            description = "With --via-agent and https: the client certificate, a path on the host (default: etcd_cert_file).")
    String etcdCertFile;

    @Option(names = "--etcd-key-file", paramLabel = "PATH",
            description = "With --via-agent and https: its key, a path on the host (default: etcd_key_file).")
    String etcdKeyFile;

    @Parameters(index = "0", paramLabel = "FILE", description = "Where to write the snapshot; must not exist.")
    Path file;

    @Option(names = {"-o", "--output", "-w", "--write-out"}, defaultValue = "table", paramLabel = "FORMAT",
            description = "Output format: table (default) or json (one object).")
    OutputFormat writeOut;

    @Option(names = "--timeout", defaultValue = "600", paramLabel = "SECONDS",
            description = "How long the snapshot may take to download (default ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Option(names = "--dial-timeout", defaultValue = "5", paramLabel = "SECONDS",
            description = "How long each endpoint gets to answer the status probe (default ${DEFAULT-VALUE}).")
    long dialTimeoutSeconds;

    @Override
    public Integer call() throws IOException {
        if ((endpoints == null) == (viaAgent == null)) {
            throw usage("give either --endpoints (reach etcd from here) or --via-agent HOST with -i (through that host's agent)");
        }
        if (timeoutSeconds <= 0 || dialTimeoutSeconds <= 0) {
            throw usage("--timeout and --dial-timeout must be positive");
        }
        if (viaAgent == null && (inventory != null || endpoint != null || etcdCaFile != null || etcdCertFile != null
                || etcdKeyFile != null)) {
            throw usage("-i, --endpoint and --etcd-*-file go with --via-agent; with --endpoints give client URLs only");
        }
        if (viaAgent != null && inventory == null) {
            throw usage("--via-agent needs -i/--inventory: it names the host's agent and how to reach its etcd");
        }
        refuseExisting(file);
        Path dir = file.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw usage("directory " + dir + " of " + file + " does not exist");
        }
        if (viaAgent != null) {
            return viaAgent();
        }
        List<URI> urls = parseEndpoints(endpoints);
        Duration dial = Duration.ofSeconds(dialTimeoutSeconds);
        SnapshotTaker taker = new SnapshotTaker(new EtcdClients(dial), dial);
        SnapshotTaker.Probe probe = taker.probe(urls);
        SourceMember source = probe.best().orElseThrow(() -> new UserException(FailureKind.PHASE_FAILED,
                "no endpoint answered: " + describe(probe.unreachable())));
        // Checked again right before writing: another job may have created FILE while we probed.
        refuseExisting(file);
        SnapshotFile taken = taker.take(source, file, Duration.ofSeconds(timeoutSeconds));
        Facts facts;
        try {
            facts = new Facts(taken, BoltSnapshot.read(file));
        } catch (NotASnapshotException e) {
            throw new UserException(FailureKind.PHASE_FAILED, "the snapshot from " + source.endpoint() + " is not intact ("
                    + e.reason() + "); moved it aside to " + moveAside(file));
        }
        if (facts.file().trailer() != SnapshotDigest.Trailer.VALID) {
            throw new UserException(FailureKind.PHASE_FAILED, "the snapshot from " + source.endpoint() + " has a "
                    + trailerWord(facts.file().trailer()) + " SHA-256 trailer; moved it aside to " + moveAside(file));
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("endpoint", source.endpoint().toString());
        extra.put("etcdVersion", source.version());
        print(spec.commandLine().getOut(), writeOut, "saved", facts, extra);
        return ExitCodes.OK;
    }

    private int viaAgent() throws IOException {
        SnapshotViaAgent.Target target = SnapshotViaAgent.resolve(new SnapshotViaAgent.Request(inventory, viaAgent,
                endpoint, etcdCaFile, etcdCertFile, etcdKeyFile));
        // Checked again right before writing: another job may have created FILE while the inventory loaded.
        refuseExisting(file);
        String from = target.access().getEndpoint() + " via the agent on " + viaAgent;
        SnapshotFile taken = SnapshotViaAgent.save(target, file, Duration.ofSeconds(timeoutSeconds), System.console() != null);
        Facts facts;
        try {
            facts = new Facts(taken, BoltSnapshot.read(file));
        } catch (NotASnapshotException e) {
            throw new UserException(FailureKind.PHASE_FAILED, "the snapshot from " + from + " is not intact ("
                    + e.reason() + "); moved it aside to " + moveAside(file));
        }
        if (facts.file().trailer() != SnapshotDigest.Trailer.VALID) {
            throw new UserException(FailureKind.PHASE_FAILED, "the snapshot from " + from + " has a "
                    + trailerWord(facts.file().trailer()) + " SHA-256 trailer; moved it aside to " + moveAside(file));
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("endpoint", target.access().getEndpoint());
        extra.put("viaAgent", viaAgent);
        print(spec.commandLine().getOut(), writeOut, "saved", facts, extra);
        return ExitCodes.OK;
    }

    private static void refuseExisting(Path file) {
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            throw usage("refusing to overwrite " + file + ": it exists; choose a new file name or move it away");
        }
    }

    private static String describe(Map<URI, String> unreachable) {
        List<String> parts = new ArrayList<>();
        unreachable.forEach((url, why) -> parts.add(url + " (" + why + ")"));
        return String.join(", ", parts);
    }

    /** Keeps the bad bytes for a post-mortem but frees FILE, so a backup job never mistakes them for a snapshot. */
    private static Path moveAside(Path file) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path aside = file.resolveSibling(file.getFileName() + ".corrupt" + (attempt == 0 ? "" : "-" + attempt));
            try {
                // No ATOMIC_MOVE: on Linux it would silently replace an existing target.
                return Files.move(file, aside);
            } catch (FileAlreadyExistsException taken) {
                // An older corrupt file keeps its name: take the next suffix.
            }
        }
    }
}
