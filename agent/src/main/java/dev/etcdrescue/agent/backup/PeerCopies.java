package dev.etcdrescue.agent.backup;

import com.google.protobuf.ByteString;
import dev.etcdrescue.agent.transfer.RelayDialer;
import dev.etcdrescue.pki.SigningIdentity;
import dev.etcdrescue.proto.v1.BackupAgentGrpc;
import dev.etcdrescue.proto.v1.BackupCopyChunk;
import dev.etcdrescue.proto.v1.BackupCopyResult;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The second independent copy of each backup: after this agent took and verified one, it pushes the stored file
 * and its signed manifest to {@code copies} peer agents of its cluster (StoreBackupCopy, agent to agent over mTLS with
 * this agent's fleet certificate, the peer's certificate checked against the address dialled). A peer's agent is
 * found where its member is: the host of its first peer URL, on this agent's own port (every agent of a fleet
 * listens on the same port, as {@code deploy/examples/agent.yaml} has it). The receiving side checks what it is
 * given the same way ({@link #accept}).
 */
public final class PeerCopies {
    private static final Logger log = LoggerFactory.getLogger(PeerCopies.class);
    private static final int CHUNK = 1 << 20;
    private final BackupStore store;
    private final SigningIdentity signer;
    private final String hostName;
    private final int copies;
    private final int agentPort;
    private final RelayDialer dialer;
    private final Clock clock;
    private final Optional<String> cluster;

    /**
     * @param copies    how many peers get a copy of each backup this agent takes (0: none)
     * @param agentPort the port peer agents listen on
     * @param cluster   backup.cluster, when set: only copies of that cluster are accepted
     */
    public PeerCopies(BackupStore store, SigningIdentity signer, String hostName, int copies, int agentPort, RelayDialer dialer,
                      Clock clock, Optional<String> cluster) {
        this.store = store;
        this.signer = signer;
        this.hostName = hostName;
        this.copies = copies;
        this.agentPort = agentPort;
        this.dialer = dialer;
        this.clock = clock;
        this.cluster = cluster;
    }

    /** A copy refused: the reason is the sentence the sender sees. */
    public static final class Refused extends Exception {
        Refused(String message) {
            super(message);
        }
    }

    /**
     * The peers to try, in order: every member but this one, those that answer first, each group in id order
     * starting after this member's id, so that the members' copies spread over the cluster.
     */
    static List<LocalEtcdctl.MemberState> order(LocalEtcdctl.ClusterView view) {
        List<LocalEtcdctl.MemberState> others = new ArrayList<>(view.members().stream()
                .filter(m -> !m.id().equals(view.self())).toList());
        Comparator<LocalEtcdctl.MemberState> afterSelf = Comparator
                .comparing((LocalEtcdctl.MemberState m) -> m.id().compareTo(view.self()) < 0)
                .thenComparing(LocalEtcdctl.MemberState::id);
        others.sort(Comparator.comparing((LocalEtcdctl.MemberState m) -> !m.answers()).thenComparing(afterSelf));
        return others;
    }

    /** Where a member's agent listens: its first peer URL's host, this agent's port; empty when it has no URL. */
    Optional<String> endpoint(LocalEtcdctl.MemberState member) {
        for (String url : member.peerUrls()) {
            try {
                String host = URI.create(url).getHost();
                if (host != null) {
                    return Optional.of((host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + agentPort);
                }
            } catch (IllegalArgumentException e) {
                log.debug("peer URL {} of {} unreadable: {}", url, member.name(), e.getMessage());
            }
        }
        return Optional.empty();
    }

    /** Pushes {@code taken} to peers until {@code copies} of them hold it; one line per peer tried. */
    public List<String> push(BackupManifest taken, LocalEtcdctl.ClusterView view) {
        List<String> outcome = new ArrayList<>();
        int held = 0;
        for (LocalEtcdctl.MemberState peer : order(view)) {
            if (held >= copies) {
                break;
            }
            Optional<String> endpoint = endpoint(peer);
            if (endpoint.isEmpty()) {
                outcome.add(peer.name() + ": no peer URL to find its agent at");
                continue;
            }
            try {
                BackupCopyResult r = pushTo(taken, endpoint.get(), Duration.ofMinutes(30));
                held++;
                outcome.add(r.getHolder() + ": " + (r.getAlreadyHeld() ? "held it already" : "ok"));
                log.info("backup {}: copy held by {} ({})", taken.id(), r.getHolder(), endpoint.get());
            } catch (IOException e) {
                outcome.add(peer.name() + " (" + endpoint.get() + "): " + e.getMessage());
                log.warn("backup {}: no copy on {} ({}): {}", taken.id(), peer.name(), endpoint.get(), e.getMessage());
            }
        }
        if (held < copies) {
            outcome.add("only " + held + " of " + copies + " copies held");
        }
        return outcome;
    }

    public int copies() {
        return copies;
    }

    /** Sends one backup of this dir to the agent at {@code endpoint} (host:port) and waits for its answer. */
    public BackupCopyResult pushTo(BackupManifest taken, String endpoint, Duration timeout) throws IOException {
        byte[] envelope = store.manifestBytes(taken.id());
        Path file = store.dir().resolve(taken.file());
        ManagedChannel channel = dialer.dial(endpoint);
        try {
            return send(channel, envelope, file, timeout);
        } catch (StatusRuntimeException e) {
            throw new IOException(e.getStatus().getCode() + ": " + e.getStatus().getDescription(), e);
        } finally {
            channel.shutdownNow();
        }
    }

    private static BackupCopyResult send(ManagedChannel channel, byte[] envelope, Path file, Duration timeout) throws IOException {
        CompletableFuture<BackupCopyResult> result = new CompletableFuture<>();
        Object ready = new Object();
        ClientResponseObserver<BackupCopyChunk, BackupCopyResult> answer = new ClientResponseObserver<>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<BackupCopyChunk> call) {
                call.setOnReadyHandler(() -> wake(ready));
            }

            @Override
            public void onNext(BackupCopyResult value) {
                result.complete(value);
            }

            @Override
            public void onError(Throwable t) {
                result.completeExceptionally(t);
                wake(ready);
            }

            @Override
            public void onCompleted() {
                result.completeExceptionally(new IOException("the peer ended the call without an answer"));
                wake(ready);
            }
        };
        StreamObserver<BackupCopyChunk> out = BackupAgentGrpc.newStub(channel).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .storeBackupCopy(answer);
        ClientCallStreamObserver<BackupCopyChunk> call = (ClientCallStreamObserver<BackupCopyChunk>) out;
        out.onNext(BackupCopyChunk.newBuilder().setManifest(ByteString.copyFrom(envelope)).build());
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[CHUNK];
            for (int n = in.readNBytes(buffer, 0, CHUNK); n > 0 && !result.isDone(); n = in.readNBytes(buffer, 0, CHUNK)) {
                synchronized (ready) {
                    while (!call.isReady() && !result.isDone()) {
                        ready.wait(1000);
                    }
                }
                if (!result.isDone()) {
                    out.onNext(BackupCopyChunk.newBuilder().setData(ByteString.copyFrom(buffer, 0, n)).build());
                }
            }
            if (!result.isDone()) {
                out.onNext(BackupCopyChunk.newBuilder().setLast(true).build());
                out.onCompleted();
            }
            return result.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            call.cancel("interrupted", e);
            throw new IOException("interrupted while sending " + file.getFileName(), e);
        } catch (TimeoutException e) {
            call.cancel("timed out", e);
            throw new IOException("no answer within " + timeout, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof StatusRuntimeException s) {
                throw s;
            }
            throw new IOException(e.getCause().getMessage(), e.getCause());
        } catch (IOException | RuntimeException e) {
            call.cancel("failed", e);
            throw e;
        }
    }

    private static void wake(Object ready) {
        synchronized (ready) {
            ready.notifyAll();
        }
    }

    /** What the holder answers when the copy is already here. */
    public record Accepted(BackupManifest original, Optional<BackupManifest> alreadyHeld) {}

    /**
     * The receiving side's check of a copy's first message, before any byte is written: the taker's manifest signed
     * by a fleet agent, pushed by that same agent ({@code caller}, its certificate's CN), of this agent's cluster
     * when backup.cluster is set, and not this host's own. A copy already held whole is reported, not written again.
     */
    public Accepted accept(byte[] envelope, String caller) throws Refused, IOException {
        ManifestEnvelope.Checked checked = store.check(envelope);
        if (!checked.trusted()) {
            throw new Refused("the copy's manifest is not trusted: " + checked.problem());
        }
        BackupManifest m = checked.manifest();
        if (m.isCopy()) {
            throw new Refused("backup " + m.id() + " is itself a copy (from " + m.copyFrom() + "): only the agent that took a backup pushes it");
        }
        if (!m.takenBy().equals(caller)) {
            throw new Refused("agent " + caller + " pushed backup " + m.id() + ", which " + m.takenBy() + " took: an agent pushes only its own");
        }
        if (m.takenBy().equals(hostName)) {
            throw new Refused("backup " + m.id() + " was taken by this host (" + hostName + ") itself");
        }
        if (cluster.isPresent() && !cluster.get().equals(m.cluster())) {
            throw new Refused("backup " + m.id() + " is of cluster " + m.cluster() + "; this agent holds backups of " + cluster.get());
        }
        if (!m.id().matches("[A-Za-z0-9._-]{1,200}") || !m.file().equals(m.id() + BackupStore.DATA)) {
            throw new Refused("backup id " + m.id() + " or file " + m.file() + " is not one this agent writes");
        }
        for (BackupStore.Listed l : store.list()) {
            if (l.id().equals(m.id())) {
                if (l.trusted() && l.manifest().fileSha256().equals(m.fileSha256()) && store.verify(l.manifest()).isEmpty()) {
                    return new Accepted(m, Optional.of(l.manifest()));
                }
                throw new Refused("a backup named " + m.id() + " is already in " + store.dir() + " and is not this one whole"
                        + (l.trusted() ? "" : " (" + l.problem() + ")") + ": move it aside to take the copy");
            }
        }
        return new Accepted(m, Optional.empty());
    }

    /** Starts writing an accepted copy. */
    public IncomingCopy receive(BackupManifest original) throws IOException {
        return store.receiveCopy(original);
    }

    /** Completes a received copy with this holder's signed manifest. */
    public BackupManifest finish(IncomingCopy incoming) throws IOException {
        return incoming.finish(signer, incoming.original().takenBy(), clock.instant().toString());
    }

    public String hostName() {
        return hostName;
    }
}
