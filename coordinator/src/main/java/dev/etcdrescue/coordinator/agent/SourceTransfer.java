package dev.etcdrescue.coordinator.agent;

import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.HopOutcome;
import dev.etcdrescue.proto.v1.LocalEtcdAccess;
import dev.etcdrescue.proto.v1.RelayGrant;
import dev.etcdrescue.proto.v1.SendSnapshotRequest;
import dev.etcdrescue.proto.v1.SendSnapshotResult;
import dev.etcdrescue.proto.v1.TakeSnapshotRequest;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.proto.v1.TransferState;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * The snapshot's bytes go from the source host's agent to the others; the coordinator only asks, signs
 * grants and checks what each agent reports (decision 0022).
 *
 * <ul>
 *   <li>{@link #take}: TakeSnapshot on the source's agent (etcdctl against its own member, checked and
 *       staged there), with its bytes written as progress.</li>
 *   <li>{@link #distribute}: in rounds, BeginTransfer on every receiver (which says who already holds the
 *       verified file, or from which offset it resumes), grants for the source and the receivers, then one
 *       SendSnapshot on the source: to every receiver at once (fan-out), or along a chain. A hop that
 *       failed is named with its reason; the next round sends to the hosts still without the file by
 *       fan-out from their durable offsets.</li>
 * </ul>
 */
public final class SourceTransfer {
    /** Rounds of sends before a host without the file fails the phase. */
    public static final int ROUNDS = 3;
    /** The pause before the second round, twice that before the third. */
    private static final Duration ROUND_PAUSE = Duration.ofSeconds(2);

    /** How one receiver ended: the verified file and how it got there, or the last failure. */
    public record Delivery(TransferResult result, String how, String failure) {
        public boolean ok() {
            return result != null;
        }
    }

    private final AgentChannels channels;
    private final String transferId;
    private final long size;
    private final String sha256;
    private final Duration budget;
    private final SnapshotDistribution.Notes notes;
    private final SnapshotDistribution.Progress progress;

    public SourceTransfer(AgentChannels channels, String transferId, long size, String sha256, Duration budget,
                          SnapshotDistribution.Notes notes, SnapshotDistribution.Progress progress) {
        this.channels = channels;
        this.transferId = transferId;
        this.size = size;
        this.sha256 = sha256;
        this.budget = budget;
        this.notes = notes;
        this.progress = progress;
    }

    /**
     * TakeSnapshot on {@code source}, reporting the bytes etcdctl has written against {@code estimate}.
     *
     * @throws io.grpc.StatusRuntimeException the agent's refusal or failure, as it sent it
     */
    public static TransferResult take(SnapshotDistribution.Target source, LocalEtcdAccess access, long estimate, Duration timeout,
                                      SnapshotDistribution.Progress progress, SnapshotDistribution.Notes notes) {
        try (StatusPoller poller = new StatusPoller(List.of(source), estimate, "of the snapshot written", progress, notes)) {
            return source.agent().takeSnapshot(TakeSnapshotRequest.newBuilder().setHeader(source.header()).setLocal(access).build(),
                    timeout);
        }
    }

    /**
     * TakeSnapshot of a backup {@code source} holds ({@code recover --from-backup}): it reads the copy back, unpacks and stages it.
     *
     * @throws io.grpc.StatusRuntimeException the agent's refusal or failure, as it sent it
     */
    public static TransferResult stageBackup(SnapshotDistribution.Target source, String backupId, long size, Duration timeout,
                                             SnapshotDistribution.Progress progress, SnapshotDistribution.Notes notes) {
        return stageBackup(source, backupId, false, size, timeout, progress, notes);
    }

    /** @param fromObjectStore the copy in the agent's object storage (backup.s3), which it downloads first */
    public static TransferResult stageBackup(SnapshotDistribution.Target source, String backupId, boolean fromObjectStore, long size,
                                             Duration timeout, SnapshotDistribution.Progress progress, SnapshotDistribution.Notes notes) {
        try (StatusPoller poller = new StatusPoller(List.of(source), size, "of the backup unpacked", progress, notes)) {
            return source.agent().takeSnapshot(TakeSnapshotRequest.newBuilder().setHeader(source.header()).setBackupId(backupId)
                            .setFromObjectStore(fromObjectStore).build(), timeout);
        }
    }

    /**
     * The shape of a round: the planned one the first time; a fan-out after a failed round, and whenever a
     * receiver already holds part of the file (a chain forwards what each hop receives from offset 0, so a
     * hop resuming at its own offset cannot relay to the next).
     */
    public static boolean fanOut(boolean plannedChain, int round, boolean anyPartial) {
        return !(plannedChain && round == 1 && !anyPartial);
    }

    /** Gets the source's staged file to every receiver; never throws for a receiver's failure (its Delivery says it). */
    public Map<String, Delivery> distribute(SnapshotDistribution.Target source, List<SnapshotDistribution.Target> receivers,
                                            boolean plannedChain, ExecutorService executor) throws InterruptedException {
        Map<String, Delivery> out = new LinkedHashMap<>();
        Map<String, String> failures = new LinkedHashMap<>();
        for (int round = 1; round <= ROUNDS; round++) {
            if (round > 1) {
                // A source or receiver that restarts, or a stream still closing, passes within seconds.
                Thread.sleep(ROUND_PAUSE.multipliedBy(round - 1).toMillis());
            }
            List<SnapshotDistribution.Target> pending = receivers.stream().filter(t -> !out.containsKey(t.hostName())).toList();
            Map<SnapshotDistribution.Target, TransferState> states = new LinkedHashMap<>();
            inParallel(pending, executor, "BeginTransfer", failures, t -> t.agent().beginTransfer(begin(t).build()))
                    .forEach((t, state) -> state.ifPresent(s -> {
                        if (s.getComplete()) {
                            out.put(t.hostName(), new Delivery(s.getResult(), "already held the verified file", null));
                        } else {
                            states.put(t, s);
                        }
                    }));
            List<SnapshotDistribution.Target> missing = new ArrayList<>(states.keySet());
            if (missing.isEmpty()) {
                break;
            }
            boolean anyPartial = states.values().stream().anyMatch(s -> s.getDurableOffset() > 0);
            boolean fanOut = fanOut(plannedChain, round, anyPartial);
            sendRound(source, missing, fanOut, round, executor, out, failures);
        }
        for (SnapshotDistribution.Target t : receivers) {
            out.computeIfAbsent(t.hostName(), h -> new Delivery(null, null, failures.getOrDefault(h, "no verified file after "
                    + ROUNDS + " rounds")));
        }
        return out;
    }

    private void sendRound(SnapshotDistribution.Target source, List<SnapshotDistribution.Target> missing, boolean fanOut, int round,
                           ExecutorService executor, Map<String, Delivery> out, Map<String, String> failures)
            throws InterruptedException {
        List<String> hops = missing.stream().map(SnapshotDistribution.Target::endpoint).toList();
        Instant validUntil = Instant.now().plus(budget);
        String holder = source.hostName();
        Map<String, Long> offsets = new LinkedHashMap<>();
        Map<String, RelayGrant> grants = grants(channels, transferId, source.header().getOperationId(), holder,
                missing.stream().map(SnapshotDistribution.Target::hostName).toList(), hops, fanOut, validUntil);
        try {
            retrying(source, () -> source.agent().beginTransfer(begin(source).setRelay(grants.get(holder))
                    .putAllNextHopDataPorts(dataPorts(missing)).build()));
            inParallel(missing, executor, "announcing the transfer from " + holder, failures,
                    t -> t.agent().beginTransfer(begin(t).setRelay(grants.get(t.hostName()))
                            .putAllNextHopDataPorts(fanOut ? Map.of() : dataPorts(nextOf(missing, t))).build()))
                    .forEach((t, state) -> state.ifPresent(s -> offsets.put(t.endpoint(), s.getDurableOffset())));
        } catch (RuntimeException e) {
            String why = AgentError.describe(e, source.endpoint());
            missing.forEach(t -> failures.put(t.hostName(), "announcing the transfer from " + holder + " failed: " + why));
            notes.note(holder, "announcing the transfer failed: " + why);
            return;
        }
        notes.note("-", (round > 1 ? "round " + round + ": " : "") + holder + " sends the snapshot to "
                + (fanOut ? String.join(", ", missing.stream().map(SnapshotDistribution.Target::hostName).toList()) + " (fan-out)"
                        : String.join(" -> ", missing.stream().map(SnapshotDistribution.Target::hostName).toList()) + " (chain)")
                + "; the coordinator carries none of its bytes");
        long t0 = System.nanoTime();
        SendSnapshotResult result;
        try (StatusPoller poller = new StatusPoller(missing, size, "received from " + holder, progress, notes)) {
            result = source.agent().sendSnapshot(SendSnapshotRequest.newBuilder().setHeader(source.header()).setTransferId(transferId)
                    .putAllResumeOffsets(fanOut ? offsets : Map.of()).build(), budget);
        } catch (RuntimeException e) {
            String why = AgentError.describe(e, source.endpoint());
            missing.forEach(t -> failures.put(t.hostName(), "SendSnapshot on " + holder + " failed: " + why));
            notes.note(holder, "SendSnapshot failed: " + why);
            return;
        }
        double secs = Math.max(1e-3, (System.nanoTime() - t0) / 1e9);
        for (HopOutcome hop : result.getHopsList()) {
            if (hop.getOk()) {
                continue;
            }
            String failed = hostOf(missing, hop.getFailedHop());
            String why = "receiving from " + holder + " failed at " + failed + " (" + hop.getFailedHop() + "): " + hop.getCode()
                    + (hop.getReason().isEmpty() ? "" : " " + hop.getReason()) + ": " + hop.getMessage();
            failures.put(failed, why);
            notes.note(failed, why + (round < ROUNDS ? "; sending again from its durable offset" : ""));
        }
        boolean chainDone = !fanOut && result.getHopsCount() == 1 && result.getHops(0).getOk();
        for (SnapshotDistribution.Target t : missing) {
            Optional<HopOutcome> own = result.getHopsList().stream().filter(h -> h.getOk() && h.getEndpoint().equals(t.endpoint()))
                    .findFirst();
            if (fanOut && own.isPresent()) {
                out.put(t.hostName(), new Delivery(own.get().getResult(), String.format(Locale.ROOT,
                        "received %d bytes from %s (fan-out, %s) in %.1fs (%.0f MiB/s)", own.get().getBytesSent(), holder,
                        transportOf(own.get()), secs, own.get().getBytesSent() / secs / (1 << 20)), null));
            } else if (chainDone) {
                // The chain answers once its last hop has verified; each host's own result comes with BeginTransfer.
                TransferResult verified = own.map(HopOutcome::getResult).orElse(null);
                out.put(t.hostName(), new Delivery(verified != null ? verified : t.agent().beginTransfer(begin(t).build()).getResult(),
                        String.format(Locale.ROOT, "received from %s along the chain (hop %d) in %.1fs (%.0f MiB/s)", holder,
                                missing.indexOf(t) + 1, secs, size / secs / (1 << 20)), null));
            }
        }
    }

    /**
     * The grants of one round, by host name: the source's names every receiver's endpoint (in order), as a
     * fan-out or as a chain; in a fan-out each receiver's names the source as the only agent it takes the
     * transfer from, in a chain each receiver's names the hops after it (decision 0007).
     */
    static Map<String, RelayGrant> grants(AgentChannels channels, String transferId, String operationId, String holder,
                                          List<String> receivers, List<String> endpoints, boolean fanOut, Instant validUntil) {
        Map<String, RelayGrant> grants = new LinkedHashMap<>();
        grants.put(holder, channels.grant(transferId, operationId, holder, endpoints, validUntil, fanOut, ""));
        List<List<String>> chain = RelayChain.nextHops(endpoints);
        for (int i = 0; i < receivers.size(); i++) {
            grants.put(receivers.get(i), fanOut
                    ? channels.grant(transferId, operationId, receivers.get(i), List.of(), validUntil, false, holder)
                    : channels.grant(transferId, operationId, receivers.get(i), chain.get(i), validUntil));
        }
        return grants;
    }

    /**
     * The data channel port of each of {@code hops} (from its BeginTransfer this round), by the endpoint its
     * grant names: the agent that sends to it uses its data channel (decision 0023), else RelaySnapshot.
     */
    static Map<String, Integer> dataPorts(List<SnapshotDistribution.Target> hops) {
        Map<String, Integer> ports = new LinkedHashMap<>();
        for (SnapshotDistribution.Target t : hops) {
            if (t.agent().dataPort() > 0) {
                ports.put(t.endpoint(), t.agent().dataPort());
            }
        }
        return ports;
    }

    /** How the source sent to a hop, as its agent reported it (agents from before the field: RelaySnapshot). */
    private static String transportOf(HopOutcome hop) {
        return hop.getTransport().isEmpty() ? "RelaySnapshot" : hop.getTransport();
    }

    /** The hop after {@code t} in a chain, or none at its end. */
    private static List<SnapshotDistribution.Target> nextOf(List<SnapshotDistribution.Target> chain, SnapshotDistribution.Target t) {
        int i = chain.indexOf(t);
        return i + 1 < chain.size() ? List.of(chain.get(i + 1)) : List.of();
    }

    /** BeginTransfer on the host that holds the file without a grant: its verified result (complete), or that it lost it. */
    public TransferState held(SnapshotDistribution.Target holder) {
        return holder.agent().beginTransfer(begin(holder).build());
    }

    private static String hostOf(List<SnapshotDistribution.Target> targets, String endpoint) {
        return targets.stream().filter(t -> t.endpoint().equals(endpoint)).map(SnapshotDistribution.Target::hostName).findFirst()
                .orElse(endpoint);
    }

    private BeginTransferRequest.Builder begin(SnapshotDistribution.Target t) {
        return BeginTransferRequest.newBuilder().setHeader(t.header()).setTransferId(transferId).setTotalSize(size).setSha256(sha256)
                .setSource("agent:" + t.hostName()).setSkipSnapshotStatus(t.skipStatus());
    }

    private interface Call<R> {
        R apply(SnapshotDistribution.Target t) throws Exception;
    }

    /** AgentRetry's policy: a broken connection and a stream still closing pass by themselves. */
    private <R> R retrying(SnapshotDistribution.Target t, java.util.function.Supplier<R> call) {
        return AgentRetry.<R>policy(why -> notes.note(t.hostName(), "retrying: " + why)).get(call::get);
    }

    /**
     * Every target at once, each call retried as {@link #retrying}; a target whose call still failed maps to
     * empty, and {@code failures} says why, as {@code what} failed.
     */
    private <R> Map<SnapshotDistribution.Target, Optional<R>> inParallel(List<SnapshotDistribution.Target> targets,
                                                                         ExecutorService executor, String what,
                                                                         Map<String, String> failures, Call<R> call)
            throws InterruptedException {
        Map<SnapshotDistribution.Target, Future<R>> futures = new LinkedHashMap<>();
        for (SnapshotDistribution.Target t : targets) {
            futures.put(t, executor.submit(() -> retrying(t, () -> {
                try {
                    return call.apply(t);
                } catch (RuntimeException e) {
                    throw e;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            })));
        }
        Map<SnapshotDistribution.Target, Optional<R>> results = new LinkedHashMap<>();
        for (var e : futures.entrySet()) {
            try {
                results.put(e.getKey(), Optional.ofNullable(e.getValue().get()));
            } catch (ExecutionException ex) {
                String why = what + " failed: " + AgentError.describe(ex.getCause(), e.getKey().endpoint());
                failures.put(e.getKey().hostName(), why);
                notes.note(e.getKey().hostName(), why);
                results.put(e.getKey(), Optional.empty());
            }
        }
        return results;
    }
}
