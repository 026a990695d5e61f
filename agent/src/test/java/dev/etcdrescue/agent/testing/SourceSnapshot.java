package dev.etcdrescue.agent.testing;

import dev.etcdrescue.testsupport.LocalEtcd;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

/**
 * A real snapshot taken with {@code etcdctl snapshot save} from a real etcd holding 100 keys of
 * 8 KB (about 840 KB, so uploads in 64 KiB chunks take many chunks) plus one small marker key.
 */
public record SourceSnapshot(Path file, byte[] bytes, String sha256) {
    public static final String MARKER_KEY = "/rescue/marker";
    public static final String MARKER_VALUE = "survived-the-restore";

    public static SourceSnapshot take(Path dir) throws Exception {
        Path file = dir.resolve("snapshot.db");
        try (LocalEtcd etcd = LocalEtcd.startFresh(dir.resolve("source.etcd"), dir.resolve("source.log"))) {
            StringBuilder txn = new StringBuilder("\n");
            String value = "x".repeat(8000);
            for (int i = 0; i < 100; i++) {
                txn.append("put /bulk/").append(i).append(' ').append(value).append('\n');
            }
            txn.append("\n\n");
            Path txnFile = dir.resolve("txn.txt");
            Files.writeString(txnFile, txn);
            etcd.etcdctlWithInput(txnFile, "txn");
            etcd.etcdctl("put", MARKER_KEY, MARKER_VALUE);
            etcd.etcdctl("snapshot", "save", file.toString());
        }
        byte[] bytes = Files.readAllBytes(file);
        String sha = HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
        return new SourceSnapshot(file, bytes, sha);
    }
}
