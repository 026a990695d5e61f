package dev.etcdrescue.snapshotformat.bolt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Fills a real etcd so its snapshot has branch pages, overflow pages, updates and tombstones; runs etcdctl. */
public final class EtcdTestData {
    private EtcdTestData() {}

    /** {@code keys} small keys, every 10th updated, every 25th deleted, and {@code large} values of 5 KiB to 200 KiB. */
    public static void fill(URI endpoint, int keys, int large) throws Exception {
        try (Client client = Client.builder().endpoints(endpoint).build()) {
            KV kv = client.getKVClient();
            List<CompletableFuture<?>> pending = new ArrayList<>();
            for (int i = 0; i < keys; i++) {
                pending.add(kv.put(bytes("/registry/things/" + i), bytes("value-" + i + "-" + "x".repeat(i % 97))));
                flushEvery(pending, 200);
            }
            for (int i = 0; i < keys; i += 10) {
                pending.add(kv.put(bytes("/registry/things/" + i), bytes("updated-" + i)));
                flushEvery(pending, 200);
            }
            for (int i = 0; i < keys; i += 25) {
                pending.add(kv.delete(bytes("/registry/things/" + i)));
                flushEvery(pending, 200);
            }
            for (int i = 0; i < large; i++) {
                byte[] big = new byte[5 * 1024 + i * 40 * 1024];
                Arrays.fill(big, (byte) ('a' + i % 26));
                pending.add(kv.put(bytes("/registry/large/" + i), ByteSequence.from(big)));
            }
            flushEvery(pending, 0);
        }
    }

    private static void flushEvery(List<CompletableFuture<?>> pending, int limit) throws Exception {
        if (pending.size() >= limit) {
            CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            pending.clear();
        }
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    /** Runs a command and returns its stdout; fails with its output when it fails. */
    public static String run(String... argv) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(false);
        pb.environment().put("ETCDCTL_API", "3");
        Process p = pb.start();
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> {
            try {
                return p.getErrorStream().readAllBytes();
            } catch (java.io.IOException e) {
                return new byte[0];
            }
        });
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", argv) + " did not finish");
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", argv) + " failed: " + out
                    + new String(err.get(), StandardCharsets.UTF_8));
        }
        return out;
    }

    /** {@code etcdctl snapshot status -w json} (or etcdutl's) of {@code file}. */
    public static JsonNode status(String tool, Path file) throws Exception {
        return new ObjectMapper().readTree(run(tool, "snapshot", "status", file.toString(), "-w", "json"));
    }
}
