package dev.etcdrescue.coordinator.verify;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

/**
 * A digest of every key and value a member serves, read in pages in key order. After a revision
 * bump the members' hashkv no longer matches the source's (the revisions differ), so the data
 * itself is compared.
 */
record KeyspaceDigest(long keys, String sha256) {
    private static final int PAGE = 1000;
    private static final ByteSequence ALL = ByteSequence.from(new byte[] {0});

    /**
     * @param revision the revision to read at, or 0 for the latest
     * @param serializable read the member's own copy: an old member without quorum cannot serve linearizable reads
     */
    static KeyspaceDigest of(Client client, long revision, boolean serializable) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        long count = 0;
        ByteSequence from = ALL;
        while (true) {
            GetOption.Builder opt = GetOption.builder().withRange(ALL).withLimit(PAGE)
                    .withSortField(GetOption.SortTarget.KEY).withSortOrder(GetOption.SortOrder.ASCEND)
                    .withSerializable(serializable);
            if (revision > 0) {
                opt.withRevision(revision);
            }
            GetResponse page = client.getKVClient().get(from, opt.build()).get(30, TimeUnit.SECONDS);
            for (KeyValue kv : page.getKvs()) {
                byte[] k = kv.getKey().getBytes();
                byte[] v = kv.getValue().getBytes();
                sha.update(intBytes(k.length));
                sha.update(k);
                sha.update(intBytes(v.length));
                sha.update(v);
                count++;
            }
            if (!page.isMore() || page.getKvs().isEmpty()) {
                break;
            }
            byte[] last = page.getKvs().get(page.getKvs().size() - 1).getKey().getBytes();
            byte[] next = java.util.Arrays.copyOf(last, last.length + 1);
            from = ByteSequence.from(next);
        }
        return new KeyspaceDigest(count, HexFormat.of().formatHex(sha.digest()));
    }

    private static byte[] intBytes(int n) {
        return new byte[] {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n};
    }
}
