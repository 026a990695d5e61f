package dev.etcdrescue.coordinator.snapshot;

import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.files.PrivateFiles;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.maintenance.StatusResponse;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Takes a snapshot from a surviving member of the old cluster over its client URL (jetcd). */
public final class SnapshotTaker {
    private static final Logger log = LoggerFactory.getLogger(SnapshotTaker.class);
    private final EtcdClients clients;
    private final Duration statusTimeout;

    public SnapshotTaker(EtcdClients clients, Duration statusTimeout) {
        this.clients = clients;
        this.statusTimeout = statusTimeout;
    }

    /** Asks every endpoint for its status at once; the ones that answer, with why the others did not. */
    public Probe probe(List<URI> endpoints) {
        Map<URI, java.util.concurrent.CompletableFuture<SourceMember>> asked = new java.util.LinkedHashMap<>();
        // Own threads: the common pool has one thread on a 2-core host, which would ask one member at a time.
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(Math.max(1, endpoints.size()));
        for (URI endpoint : endpoints) {
            asked.put(endpoint, java.util.concurrent.CompletableFuture.supplyAsync(() -> status(endpoint), pool));
        }
        pool.shutdown();
        List<SourceMember> alive = new ArrayList<>();
        Map<URI, String> unreachable = new java.util.LinkedHashMap<>();
        asked.forEach((endpoint, answer) -> {
            try {
                alive.add(answer.join());
            } catch (Exception e) {
                unreachable.put(endpoint, rootMessage(e) + authHint(rootMessage(e)));
            }
        });
        return new Probe(alive, unreachable);
    }

    private SourceMember status(URI endpoint) {
        refusedFast(endpoint);
        try (Client client = clients.forSurvivor(endpoint)) {
            StatusResponse s = client.getMaintenanceClient().statusMember(endpoint.toString())
                    .get(statusTimeout.toMillis(), TimeUnit.MILLISECONDS);
            return new SourceMember(endpoint, s.getVersion(), s.getHeader().getRevision(), s.getRaftIndex(), s.getDbSize(), s.getLeader(),
                    s.getHeader().getMemberId(), s.isLearner(), s.getErrorList());
        } catch (TimeoutException e) {
            throw new java.util.concurrent.CompletionException(new TimeoutException("no answer within " + statusTimeout.toSeconds() + "s"));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.util.concurrent.CompletionException(e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new java.util.concurrent.CompletionException(e.getCause());
        }
    }

    /** A dead member refuses the connection at once; jetcd would retry it until the timeout. */
    private void refusedFast(URI endpoint) {
        int port = endpoint.getPort() > 0 ? endpoint.getPort() : ("https".equals(endpoint.getScheme()) ? 443 : 2379);
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(new java.net.InetSocketAddress(endpoint.getHost(), port), (int) statusTimeout.toMillis());
        } catch (java.io.IOException e) {
            throw new java.util.concurrent.CompletionException(new java.io.IOException("cannot connect: " + e.getMessage(), e));
        }
    }

    public record Probe(List<SourceMember> alive, Map<URI, String> unreachable) {
        /** The member with the highest revision holds the most data; ties go to the first listed. */
        public Optional<SourceMember> best() {
            return alive.stream().max(Comparator.comparingLong(SourceMember::revision)
                    .thenComparingLong(SourceMember::raftIndex).thenComparing((a, b) -> alive.indexOf(b) - alive.indexOf(a)));
        }
    }

    /** Streams the member's snapshot into {@code target} (written as .part, then renamed). */
    public SnapshotFile take(SourceMember source, Path target, Duration timeout) throws IOException {
        return take(source, target, timeout, part -> { }, bytes -> { });
    }

    /**
     * The same, telling {@code opened} the .part file's path before the first byte arrives and {@code wrote}
     * each write once its bytes are in that file: readers may stream the snapshot on while it is taken.
     */
    public SnapshotFile take(SourceMember source, Path target, Duration timeout, Consumer<Path> opened, LongConsumer wrote)
            throws IOException {
        Path part = target.resolveSibling(target.getFileName() + ".part");
        log.info("taking snapshot from {} (revision {}, db {} bytes) into {}", source.endpoint(), source.revision(),
                source.dbSize(), target);
        try {
            // jetcd waits for a connection until the call's deadline (its calls wait for ready): a member whose SYNs are
            // dropped would hold this take for the whole timeout. A TCP connect within the status timeout first.
            refusedFast(source.endpoint());
        } catch (java.util.concurrent.CompletionException e) {
            throw new UserException(FailureKind.PHASE_FAILED, "snapshot from " + source.endpoint() + " failed: no TCP connection within "
                    + statusTimeout.toSeconds() + "s (" + rootMessage(e) + "); no file was written");
        }
        SnapshotFile.Checked out;
        try (Client client = clients.forSurvivor(source.endpoint());
             java.nio.channels.FileChannel channel = PrivateFiles.replaceWithNew(part)) {
            opened.accept(part);
            out = SnapshotFile.checking(new FilterOutputStream(java.nio.channels.Channels.newOutputStream(channel)) {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    out.write(b, off, len);
                    wrote.accept(len);
                }
            });
            client.getMaintenanceClient().snapshot(out).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            // Durable before the rename: the file is what every host will be restored from.
            channel.force(true);
        } catch (TimeoutException e) {
            throw new UserException(FailureKind.PHASE_FAILED, "snapshot from " + source.endpoint() + " did not finish within "
                    + timeout.toSeconds() + "s; the partial file is " + part);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while taking the snapshot", e);
        } catch (Exception e) {
            throw new UserException(FailureKind.PHASE_FAILED, "snapshot from " + source.endpoint() + " failed: " + rootMessage(e)
                    + authHint(rootMessage(e)) + "; the partial file is " + part);
        }
        Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
        return out.result(target);
    }

    /**
     * etcd with auth enabled lets only a user with the root role take a snapshot; a member that lost
     * quorum cannot log a password in at all (Authenticate is a raft proposal).
     */
    static String authHint(String message) {
        String m = message.toLowerCase(java.util.Locale.ROOT);
        if (m.contains("auth:") || m.contains("permission denied") || m.contains("user name is empty")
                || m.contains("invalid auth token") || m.contains("authentication failed")) {
            return " (etcd's auth is enabled: a snapshot needs a user with the root role. From a member that lost quorum only a"
                    + " client certificate works, since a password login needs quorum: set etcd_client_cert/etcd_client_key to a"
                    + " certificate whose CN is such a user)";
        }
        return "";
    }

    static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        String m = c.getMessage();
        return m == null ? c.getClass().getSimpleName() : m;
    }
}
