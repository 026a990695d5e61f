package dev.etcdrescue.coordinator.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.etcdrescue.coordinator.IoErrors;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.coordinator.snapshot.SnapshotTaker;
import dev.etcdrescue.coordinator.snapshot.SourceMember;
import dev.etcdrescue.coordinator.snapshot.bolt.BoltSnapshot;
import dev.etcdrescue.coordinator.snapshot.bolt.NotASnapshotException;
import dev.etcdrescue.coordinator.snapshot.bolt.SnapshotInfo;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "snapshot", mixinStandardHelpOptions = true,
        header = "Takes and checks etcd v3 snapshots (routine backups, or the file a recovery restores from).",
        description = {
            "Takes and checks etcd v3 snapshots without etcdctl: 'save' for routine backups, 'status' to check a",
            "file before a recovery uses it. Both read the bbolt database itself and print what",
            "'etcdctl snapshot status' prints (revision, total keys, total size, hash), plus size, SHA-256 and",
            "whether etcd's SHA-256 trailer is valid, absent (a raw member/snap/db) or a mismatch (corrupt).",
            ""
        },
        subcommands = {SnapshotCommand.Save.class, SnapshotCommand.Status.class, CommandLine.HelpCommand.class},
        footer = {
            "",
            "Examples:",
            "  etcd-rescue snapshot save --endpoints http://10.0.0.5:2379,http://10.0.0.6:2379 /backup/etcd-$(date +%%F).db",
            "  etcd-rescue snapshot save -i inventory.yaml --via-agent etcd-1 /backup/etcd-1-$(date +%%F).db",
            "  etcd-rescue snapshot status /backup/etcd-2024-05-01.db",
            "  etcd-rescue snapshot status /var/lib/etcd/member/snap/db -w json"
        })
public final class SnapshotCommand implements Runnable {
    @Override
    public void run() {
        throw new UserException(FailureKind.BAD_INPUT, "missing command: 'snapshot save' or 'snapshot status' (see 'etcd-rescue snapshot --help')");
    }

    enum OutputFormat { table, json }

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
    static final class Save implements Callable<Integer> {
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
            if (facts.file.trailer() != SnapshotDigest.Trailer.VALID) {
                throw new UserException(FailureKind.PHASE_FAILED, "the snapshot from " + source.endpoint() + " has a "
                        + trailerWord(facts.file.trailer()) + " SHA-256 trailer; moved it aside to " + moveAside(file));
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
            if (facts.file.trailer() != SnapshotDigest.Trailer.VALID) {
                throw new UserException(FailureKind.PHASE_FAILED, "the snapshot from " + from + " has a "
                        + trailerWord(facts.file.trailer()) + " SHA-256 trailer; moved it aside to " + moveAside(file));
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

    @Command(name = "status", mixinStandardHelpOptions = true, sortOptions = false,
            header = "Checks a snapshot file and prints its facts.",
            description = {
                "Checks that FILE is an intact etcd bbolt database (magic, version, meta checksums, not truncated,",
                "every page accounted for) and prints its size, SHA-256, revision, total keys, total size and",
                "etcd hash (the same numbers as 'etcdctl snapshot status'), and etcd's SHA-256 trailer:",
                "  valid     a snapshot exactly as etcd wrote it",
                "  absent    a raw member/snap/db (restore it with --skip-hash-check / --allow-no-hash-trailer)",
                "  mismatch  the file changed after etcd wrote it: do not restore from it (exit 2)",
                ""
            },
            footer = {
                "",
                "Examples:",
                "  etcd-rescue snapshot status backup.db",
                "  etcd-rescue snapshot status /var/lib/etcd/member/snap/db -w json",
                "",
                "Exit codes: 0 an intact snapshot or database, 2 not a snapshot, corrupt, or missing."
            })
    static final class Status implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", paramLabel = "FILE", description = "A snapshot, or a member's db file.")
        Path file;

        @Option(names = {"-o", "--output", "-w", "--write-out"}, defaultValue = "table", paramLabel = "FORMAT",
                description = "Output format: table (default) or json (one object).")
        OutputFormat writeOut;

        @Override
        public Integer call() throws IOException {
            if (!Files.isRegularFile(file)) {
                throw usage(Files.exists(file) ? file + " is not a regular file" : "no such file: " + file);
            }
            SnapshotInfo info;
            SnapshotFile checked;
            try {
                info = BoltSnapshot.read(file);
                checked = SnapshotFile.inspect(file);
            } catch (NotASnapshotException e) {
                throw usage(e.getMessage());
            } catch (NoSuchFileException e) {
                throw usage("no such file: " + file);
            } catch (IOException e) {
                throw usage("cannot read " + file + ": " + IoErrors.describe(e));
            }
            Facts facts = new Facts(checked, info);
            print(spec.commandLine().getOut(), writeOut, "file", facts, Map.of());
            if (checked.trailer() == SnapshotDigest.Trailer.MISMATCH) {
                throw usage(file + ": SHA-256 trailer mismatch: the file changed after etcd wrote it; do not restore from it");
            }
            return ExitCodes.OK;
        }
    }

    /** Everything both subcommands print about a file. */
    private record Facts(SnapshotFile file, SnapshotInfo info) {}

    private static void print(PrintWriter out, OutputFormat format, String fileLabel, Facts facts,
            Map<String, Object> extra) throws JsonProcessingException {
        SnapshotInfo info = facts.info();
        SnapshotFile file = facts.file();
        if (format == OutputFormat.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("file", file.path().toString());
            doc.putAll(extra);
            doc.put("size", file.size());
            doc.put("sha256", file.sha256());
            doc.put("trailer", trailerWord(file.trailer()));
            // The next four are named and formatted as in 'etcdctl snapshot status -w json'.
            doc.put("hash", info.hashValue());
            doc.put("revision", info.revision());
            doc.put("totalKey", info.totalKeys());
            doc.put("totalSize", info.totalSize());
            doc.put("hashHex", info.hash());
            doc.put("consistentIndex", info.consistentIndex());
            out.println(new ObjectMapper().disable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
        } else {
            row(out, fileLabel, file.path().toString());
            if (extra.containsKey("viaAgent")) {
                row(out, "from", extra.get("endpoint") + " (taken by the agent on " + extra.get("viaAgent") + ")");
            } else if (extra.containsKey("endpoint")) {
                row(out, "from", extra.get("endpoint") + " (etcd " + extra.get("etcdVersion") + ")");
            }
            row(out, "size", file.size() + " bytes");
            row(out, "sha256", file.sha256());
            row(out, "trailer", trailerWord(file.trailer()) + switch (file.trailer()) {
                case VALID -> " (SHA-256 of the database matches)";
                case ABSENT -> " (a raw database: restore needs --skip-hash-check)";
                case MISMATCH -> " (the content changed after etcd wrote it)";
            });
            row(out, "revision", Long.toString(info.revision()));
            row(out, "total keys", info.totalKeys() + " (every key of every bucket, as etcdctl counts)");
            row(out, "total size", info.totalSize() + " bytes");
            row(out, "hash", info.hash() + " (as 'etcdctl snapshot status' prints it)");
            row(out, "consistent index", Long.toString(info.consistentIndex()));
        }
        out.flush();
    }

    private static void row(PrintWriter out, String name, String value) {
        out.printf(Locale.ROOT, "%-17s %s%n", name, value);
    }

    private static String trailerWord(SnapshotDigest.Trailer trailer) {
        return trailer.name().toLowerCase(Locale.ROOT);
    }

    static List<URI> parseEndpoints(List<String> endpoints) {
        List<URI> urls = new ArrayList<>();
        for (String text : endpoints) {
            URI url;
            try {
                url = new URI(text.strip());
            } catch (URISyntaxException e) {
                throw usage("--endpoints: '" + text + "' is not http://HOST:PORT (" + e.getReason() + ")");
            }
            String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
            if (scheme.equals("https")) {
                throw usage("--endpoints: '" + text + "': https endpoints need client certificates, which this command "
                        + "does not take yet; use an http client URL (e.g. one listening on 127.0.0.1 of a member)");
            }
            if (!scheme.equals("http") || url.getHost() == null || url.getPort() < 1) {
                throw usage("--endpoints: '" + text + "' is not http://HOST:PORT");
            }
            urls.add(url);
        }
        return urls;
    }

    /**
     * Bad arguments found while running: a {@link UserException}, because the execution handler
     * would report a picocli ParameterException thrown from here as an internal error.
     */
    private static UserException usage(String message) {
        return new UserException(FailureKind.BAD_INPUT, message);
    }
}
