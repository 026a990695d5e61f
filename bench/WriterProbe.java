import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The bounded writer of bench/backup.sh, run from source with the coordinator's jars on the class path
 * (java -cp 'coordinator/target/lib/*' bench/WriterProbe.java ENDPOINT RATE STOP_FILE OUT_FILE).
 * Puts one 1 KiB value at RATE per second, open loop: each put is sent at its slot whether the ones
 * before it have answered or not, and its latency runs from that slot to etcd's answer, so a stall
 * counts against every put it held up. Runs until STOP_FILE exists, then waits for the puts in flight;
 * writes one line per put, in the order they were sent, to OUT_FILE: when it was due (Unix time in ms)
 * and its latency in microseconds (-1 for a put that failed or took over 10 s), and prints "puts N failed F".
 */
public final class WriterProbe {
    public static void main(String[] args) throws Exception {
        String endpoint = args[0];
        double rate = Double.parseDouble(args[1]);
        Path stop = Path.of(args[2]);
        Path out = Path.of(args[3]);
        long periodNanos = (long) (1e9 / rate);
        ByteSequence value = ByteSequence.from("x".repeat(1024), StandardCharsets.UTF_8);
        List<CompletableFuture<Long>> sent = new ArrayList<>();
        try (Client client = Client.builder().endpoints(endpoint).connectTimeout(Duration.ofSeconds(3)).build();
             KV kv = client.getKVClient();
             PrintWriter latencies = new PrintWriter(Files.newBufferedWriter(out), true)) {
            long start = System.nanoTime();
            long startMillis = System.currentTimeMillis();
            int written = 0;
            while (!Files.exists(stop)) {
                long due = start + sent.size() * periodNanos;
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                ByteSequence key = ByteSequence.from("/bench-writer/" + (sent.size() % 1000), StandardCharsets.UTF_8);
                sent.add(kv.put(key, value).orTimeout(10, TimeUnit.SECONDS)
                        .handle((ok, failure) -> failure == null ? (System.nanoTime() - due) / 1000 : -1L));
                // Lines go out in order as soon as the puts before them have answered, so that the caller
                // sees the writer is warm while it runs.
                while (written < sent.size() && sent.get(written).isDone()) {
                    latencies.println(line(startMillis, written, periodNanos, sent.get(written++).join()));
                }
            }
            for (; written < sent.size(); written++) {
                latencies.println(line(startMillis, written, periodNanos, sent.get(written).join()));
            }
        }
        System.out.println("puts " + sent.size() + " failed " + sent.stream().filter(f -> f.join() < 0).count());
    }

    private static String line(long startMillis, int index, long periodNanos, long micros) {
        return (startMillis + index * periodNanos / 1_000_000) + " " + micros;
    }
}
