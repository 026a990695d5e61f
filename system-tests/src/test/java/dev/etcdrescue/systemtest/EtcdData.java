package dev.etcdrescue.systemtest;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/** Writes and reads test keys with jetcd, in transactions of 100 puts so 10,000 keys take seconds. */
final class EtcdData {
    private static final int PER_TXN = 100;

    static Map<String, String> load(URI endpoint, String prefix, int count, long seed) throws Exception {
        return load(endpoint, prefix, count, seed, 64);
    }

    /** {@code count} keys with values of up to {@code maxPad} random-length padding. */
    static Map<String, String> load(URI endpoint, String prefix, int count, long seed, int maxPad) throws Exception {
        Random random = new Random(seed);
        Map<String, String> written = new LinkedHashMap<>();
        try (Client c = client(endpoint)) {
            for (int start = 0; start < count; start += PER_TXN) {
                List<Op> ops = new ArrayList<>();
                for (int i = start; i < Math.min(count, start + PER_TXN); i++) {
                    String key = String.format("%s%06d", prefix, i);
                    String value = "v" + i + "-" + Long.toHexString(random.nextLong()) + "-" + "x".repeat(random.nextInt(maxPad));
                    written.put(key, value);
                    ops.add(Op.put(bytes(key), bytes(value), PutOption.DEFAULT));
                }
                c.getKVClient().txn().Then(ops.toArray(Op[]::new)).commit().get(30, TimeUnit.SECONDS);
            }
        }
        return written;
    }

    static Map<String, String> readAll(URI endpoint, String prefix) throws Exception {
        return readAll(endpoint, prefix, false);
    }

    /** @param serializable from the member's own copy: what an old member without quorum still serves */
    static Map<String, String> readAll(URI endpoint, String prefix, boolean serializable) throws Exception {
        try (Client c = client(endpoint)) {
            GetResponse r = c.getKVClient().get(bytes(prefix), GetOption.builder().isPrefix(true).withSerializable(serializable).build())
                    .get(60, TimeUnit.SECONDS);
            Map<String, String> out = new TreeMap<>();
            for (KeyValue kv : r.getKvs()) {
                out.put(kv.getKey().toString(StandardCharsets.UTF_8), kv.getValue().toString(StandardCharsets.UTF_8));
            }
            return out;
        }
    }

    static Client client(URI endpoint) {
        return Client.builder().endpoints(endpoint).connectTimeout(Duration.ofSeconds(5))
                .maxInboundMessageSize(64 << 20).build();
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private EtcdData() {}
}
