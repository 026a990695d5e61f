package dev.etcdrescue.coordinator.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.snapshot.SnapshotFile;
import dev.etcdrescue.snapshotformat.bolt.SnapshotInfo;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "snapshot", mixinStandardHelpOptions = true,
        header = "Takes and checks etcd v3 snapshots (routine backups, or the file a recovery restores from).",
        description = {
            "Takes and checks etcd v3 snapshots without etcdctl: 'save' for routine backups, 'status' to check a",
            "file before a recovery uses it. Both read the bbolt database itself and print what",
            "'etcdctl snapshot status' prints (revision, total keys, total size, hash), plus size, SHA-256 and",
            "whether etcd's SHA-256 trailer is valid, absent (a raw member/snap/db) or a mismatch (corrupt).",
            ""
        },
        subcommands = {SnapshotSave.class, SnapshotStatus.class, CommandLine.HelpCommand.class},
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

    /** Everything both subcommands print about a file. */
    record Facts(SnapshotFile file, SnapshotInfo info) {}

    static void print(PrintWriter out, OutputFormat format, String fileLabel, Facts facts,
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

    static void row(PrintWriter out, String name, String value) {
        out.printf(Locale.ROOT, "%-17s %s%n", name, value);
    }

    static String trailerWord(SnapshotDigest.Trailer trailer) {
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
    static UserException usage(String message) {
        return new UserException(FailureKind.BAD_INPUT, message);
    }
}
