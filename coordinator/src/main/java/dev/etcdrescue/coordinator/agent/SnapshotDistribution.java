package dev.etcdrescue.coordinator.agent;

import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.proto.v1.TransferState;
import io.grpc.Status;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * Gets one snapshot file to a set of agents, verified and durable on each.
 *
 * <ul>
 *   <li>direct: one UploadSnapshot stream per agent, all at once, every chunk read once and shared by
 *       the streams ({@link ChunkSource}); the coordinator sends the file N times.</li>
 *   <li>relay: the coordinator announces the transfer to every agent with a grant it signs
 *       (BeginTransfer.relay, naming each agent's next hops), sends the file once to the first agent,
 *       and each agent forwards every chunk to the next (RelaySnapshot) while writing it; the
 *       coordinator sends the file once whatever N. A failure in the chain comes back naming the hop;
 *       the hosts that do not hold the file then get it directly, from their durable offsets.</li>
 * </ul>
 * Both end with {@link #deliver}: BeginTransfer on each host, which either reports the verified file
 * (complete) or the offset to upload from.
 */
public final class SnapshotDistribution {
    public enum Mode {
        /**
         * The default: {@link #SOURCE_FANOUT} or {@link #SOURCE_CHAIN} (by the number of hosts) when the source
         * member's host runs an agent, else {@link #STREAMED}; for a snapshot file, {@link #DIRECT}.
         */
        AUTO,
        /** The source host's agent takes the snapshot and sends it to every other agent itself. */
        SOURCE_FANOUT,
        /** The source host's agent takes the snapshot and sends it along a chain of the other agents. */
        SOURCE_CHAIN,
        /**
         * Direct streams that start while the snapshot of a member is still being taken ({@link LiveDistribution});
         * for a snapshot file, the same as {@link #DIRECT}.
         */
        STREAMED,
        DIRECT,
        RELAY;

        public static Mode parse(String text) {
            try {
                return valueOf(text.toUpperCase(Locale.ROOT).replace('-', '_'));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("distribution must be auto, source-fanout, source-chain, streamed, direct or relay, not "
                        + text);
            }
        }

        /** As the option spells it. */
        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        /** The source host's agent carries the bytes; the coordinator only orchestrates. */
        public boolean fromSource() {
            return this == SOURCE_FANOUT || this == SOURCE_CHAIN;
        }
    }

    /** One agent to deliver to, with the header of this operation for that host. */
    /** @param skipStatus the host leaves etcd's snapshot status to another host with the same tool and file */
    public record Target(String hostName, AgentClient agent, OperationHeader header, boolean skipStatus) {
        public Target(String hostName, AgentClient agent, OperationHeader header) {
            this(hostName, agent, header, false);
        }

        String endpoint() {
            return agent.endpoint().toString();
        }
    }

    /** What one host ended with, and a sentence on how it got there. */
    public record Delivered(TransferResult result, String how) {}

    /** For a whole run (the bench's probe). */
    public record Outcome(Map<String, TransferResult> results, long egressBytes, Optional<String> relayFailure) {}

    public interface Notes {
        void note(String host, String message);
    }

    public interface Progress {
        void bytes(String host, long sent, long total);
    }

    private final AgentChannels channels;
    private final Path file;
    private final long size;
    private final String sha256;
    private final String transferId;
    private final String source;
    private final int chunkSize;
    private final Duration budget;
    private final int hosts;
    private final Notes notes;
    private Progress progress = (host, sent, total) -> { };
    private final List<ChunkSource> sources = new ArrayList<>();
    private ChunkSource direct;
    /** Hosts a relay chain reached, by host name, with their place in it. */
    private final Map<String, Integer> relayed = new ConcurrentHashMap<>();

    /**
     * @param budget how long one upload stream may take (its deadline), and how long a grant is valid
     * @param hosts how many hosts the file goes to: how many direct streams share each chunk read
     */
    public SnapshotDistribution(AgentChannels channels, Path file, long size, String sha256, String transferId,
                                String source, int chunkSize, Duration budget, int hosts, Notes notes) {
        this.channels = channels;
        this.file = file;
        this.size = size;
        this.sha256 = sha256;
        this.transferId = transferId;
        this.source = source;
        this.chunkSize = chunkSize;
        this.budget = budget;
        this.hosts = hosts;
        this.notes = notes;
    }

    public SnapshotDistribution withProgress(Progress progress) {
        this.progress = progress;
        return this;
    }

    /** Bytes of snapshot data the coordinator has written to agent streams so far, over all streams. */
    public synchronized long egressBytes() {
        return sources.stream().mapToLong(ChunkSource::bytesSent).sum();
    }

    /**
     * The relay, for the hosts that hold nothing of the transfer yet (a resumed run's partial or complete
     * hosts are left to {@link #deliver}). Returns why it failed (naming the hop), or empty when every
     * host of the chain has the verified file.
     */
    public Optional<String> relay(List<Target> targets, ExecutorService executor) throws InterruptedException {
        Map<Target, TransferState> states = inParallel(targets, executor, t -> t.agent().beginTransfer(begin(t).build()));
        List<Target> chain = targets.stream()
                .filter(t -> !states.get(t).getComplete() && states.get(t).getDurableOffset() == 0).toList();
        if (chain.size() < 2) {
            notes.note("-", "relay: " + chain.size() + " host(s) without the file; sending directly");
            return Optional.empty();
        }
        List<List<String>> hops = RelayChain.nextHops(chain.stream().map(Target::endpoint).toList());
        Instant validUntil = Instant.now().plus(budget);
        Map<Target, Integer> position = new LinkedHashMap<>();
        for (int i = 0; i < chain.size(); i++) {
            position.put(chain.get(i), i);
        }
        inParallel(chain, executor, t -> t.agent().beginTransfer(begin(t)
                .setRelay(channels.grant(transferId, t.header().getOperationId(), t.hostName(), hops.get(position.get(t)),
                        validUntil))
                .putAllNextHopDataPorts(SourceTransfer.dataPorts(position.get(t) + 1 < chain.size()
                        ? List.of(chain.get(position.get(t) + 1)) : List.of()))
                .build()));
        chain.forEach(t -> relayed.put(t.hostName(), position.get(t)));
        Target head = chain.get(0);
        notes.note("-", "relay: " + String.join(" -> ", chain.stream().map(Target::hostName).toList())
                + " (the coordinator sends to " + head.hostName() + " only)");
        ChunkSource once = open(1);
        try {
            head.agent().upload(head.header(), transferId, once, 0, b -> progress.bytes(head.hostName(), b, size), budget);
            return Optional.empty();
        } catch (RuntimeException e) {
            String hop = AgentClient.relayFailedHop(e).orElse(head.endpoint());
            String hopName = chain.stream().filter(t -> t.endpoint().equals(hop)).map(Target::hostName).findFirst().orElse(hop);
            Status status = Status.fromThrowable(e);
            String why = "relay failed at " + hopName + " (" + hop + "): " + status.getCode()
                    + (status.getDescription() == null ? "" : " " + status.getDescription());
            notes.note(hopName, why + "; the hosts without the file get it directly, from their durable offsets");
            return Optional.of(why);
        }
    }

    /** BeginTransfer, then the upload from the durable offset unless the host already holds the file. */
    public Delivered deliver(Target t) throws InterruptedException {
        TransferState state = t.agent().beginTransfer(begin(t).build());
        if (state.getComplete()) {
            Integer place = relayed.get(t.hostName());
            String how = place == null ? "already held the verified file (resumed run)"
                    : place == 0 ? "received from the coordinator and relayed on" : "received by relay (hop " + place + ")";
            return new Delivered(state.getResult(), how);
        }
        long from = state.getDurableOffset();
        long t0 = System.nanoTime();
        TransferResult result = t.agent().upload(t.header(), transferId, direct(), from,
                b -> progress.bytes(t.hostName(), b, size), budget);
        double secs = Math.max(1e-3, (System.nanoTime() - t0) / 1e9);
        return new Delivered(result, String.format(Locale.ROOT, "received %d bytes%s in %.1fs (%.0f MiB/s)", size - from,
                from > 0 ? " (resumed at " + from + ")" : "", secs, (size - from) / secs / (1 << 20)));
    }

    /** Relay (when asked) then deliver to every host at once, without retries: the bench's whole distribute step. */
    public Outcome run(List<Target> targets, Mode mode, ExecutorService executor) throws InterruptedException {
        Optional<String> relayFailure = mode == Mode.RELAY ? relay(targets, executor) : Optional.empty();
        Map<Target, Delivered> delivered = inParallel(targets, executor, this::deliver);
        Map<String, TransferResult> results = new LinkedHashMap<>();
        delivered.forEach((t, d) -> results.put(t.hostName(), d.result()));
        close();
        return new Outcome(results, egressBytes(), relayFailure);
    }

    public synchronized void close() {
        for (ChunkSource s : sources) {
            try {
                s.close();
            } catch (IOException e) {
                notes.note("-", "closing " + file + ": " + e.getMessage());
            }
        }
    }

    private BeginTransferRequest.Builder begin(Target t) {
        return BeginTransferRequest.newBuilder().setHeader(t.header()).setTransferId(transferId).setTotalSize(size)
                .setSha256(sha256).setSource(source).setSkipSnapshotStatus(t.skipStatus());
    }

    private synchronized ChunkSource direct() {
        if (direct == null) {
            // After a relay only the hosts it missed read from here: at worst a few chunks stay cached too long.
            direct = open(Math.max(1, hosts));
        }
        return direct;
    }

    private synchronized ChunkSource open(int readers) {
        try {
            ChunkSource s = new ChunkSource(file, chunkSize, readers);
            sources.add(s);
            return s;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private interface Call<R> {
        R apply(Target t) throws Exception;
    }

    private static <R> Map<Target, R> inParallel(List<Target> targets, ExecutorService executor, Call<R> call)
            throws InterruptedException {
        Map<Target, Future<R>> futures = new LinkedHashMap<>();
        for (Target t : targets) {
            futures.put(t, executor.submit(() -> call.apply(t)));
        }
        Map<Target, R> out = new LinkedHashMap<>();
        for (var e : futures.entrySet()) {
            try {
                out.put(e.getKey(), e.getValue().get());
            } catch (ExecutionException ex) {
                if (ex.getCause() instanceof RuntimeException re) {
                    throw re;
                }
                throw new IllegalStateException(e.getKey().hostName() + ": " + ex.getCause().getMessage(), ex.getCause());
            }
        }
        return out;
    }
}
