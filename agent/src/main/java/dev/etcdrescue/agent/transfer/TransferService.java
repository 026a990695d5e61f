package dev.etcdrescue.agent.transfer;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.failpoint.Failpoints;
import dev.etcdrescue.agent.io.Json;
import dev.etcdrescue.agent.io.SafeFiles;
import dev.etcdrescue.agent.spec.Grammar;
import dev.etcdrescue.agent.staging.StagingArea;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import dev.etcdrescue.proto.v1.ErrorReason;
import dev.etcdrescue.proto.v1.TransferResult;
import dev.etcdrescue.proto.v1.TransferState;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.HashSet;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Staging of snapshot transfers: announcing (with resume from the durable offset), and finishing
 * a received file (digest check, atomic rename, inspection). Writes only inside the staging dir.
 */
public final class TransferService {
    private static final Logger log = LoggerFactory.getLogger(TransferService.class);
    /** Free space kept beyond the snapshot itself, so staging never fills the disk to the brim. */
    static final long FREE_SPACE_MARGIN = 64L << 20;
    /** HTTP/2 window of each upload or relay stream: a few chunks in flight, a bounded buffer in the agent. */
    public static final int FLOW_CONTROL_WINDOW_BYTES = 8 << 20;

    private final StagingArea staging;
    private final SnapshotInspector inspector;
    private final Clock clock;
    /** Transfer ids with an open upload stream: their .part must not be moved or measured meanwhile. */
    private final Set<String> receiving = new HashSet<>();
    private final RelayGrants relays;
    private final Optional<RelayDialer> dialer;
    private final ZeroCopyChunks chunks = new ZeroCopyChunks();
    /** The data channel's port (decision 0023), told to senders in every TransferState; 0 while there is none. */
    private volatile int dataPort;
    /** The gRPC server's port, which the data port is told with. */
    private volatile int grpcPort;
    /** agent.yaml max_snapshot_bytes; 0: no cap beyond the free space. */
    private final long maxSnapshotBytes;
    /**
     * What complete() found, by transfer id, with the staged file's size and modification time: a
     * BeginTransfer after a relay (the coordinator collecting the chain's results) then answers at
     * once instead of hashing and inspecting the file again.
     */
    private final Failpoints failpoints;
    private final Map<String, Completed> completed = new ConcurrentHashMap<>();

    private record Completed(TransferResult result, long size, long modifiedMillis) {}

    /** Without a dialer: relay grants are checked, but this agent cannot forward (tests of one agent). */
    public TransferService(StagingArea staging, SnapshotInspector inspector, Clock clock) {
        this(staging, inspector, clock, null, 0, Failpoints.none());
    }

    /**
     * @param dialer           opens the channel to a relay chain's next hop with this agent's certificate
     * @param maxSnapshotBytes the largest snapshot accepted, announced or streamed; 0 for no cap
     * @param failpoints       the points armed by the agent's environment; none in production
     */
    public TransferService(StagingArea staging, SnapshotInspector inspector, Clock clock, RelayDialer dialer,
                           long maxSnapshotBytes, Failpoints failpoints) {
        this.failpoints = failpoints;
        this.maxSnapshotBytes = maxSnapshotBytes;
        this.staging = staging;
        this.inspector = inspector;
        this.clock = clock;
        this.relays = new RelayGrants(clock);
        this.dialer = Optional.ofNullable(dialer);
    }

    public Failpoints failpoints() {
        return failpoints;
    }

    /** How UploadSnapshot and RelaySnapshot receive chunks; the server binds them through it. */
    public ZeroCopyChunks chunks() {
        return chunks;
    }

    public void setDataPort(int port, int grpcPort) {
        this.grpcPort = grpcPort;
        this.dataPort = port;
    }

    /** {@code state} with the data channel's port, where a sender may send the chunks instead of UploadSnapshot. */
    public TransferState withDataPort(TransferState state) {
        return dataPort == 0 ? state : state.toBuilder().setDataPort(dataPort).setGrpcPort(grpcPort).build();
    }

    public RelayGrants relays() {
        return relays;
    }

    Optional<RelayDialer> dialer() {
        return dialer;
    }

    /**
     * BeginTransfer with a relay grant: the grant is checked against {@code caller} (the coordinator's
     * certificate from the TLS session) before anything is announced.
     */
    public synchronized TransferState begin(BeginTransferRequest request, String operationId,
                                            Optional<X509Certificate> caller) throws IOException {
        String id = Grammar.identifier(request.getTransferId(), "transfer_id");
        if (request.hasRelay()) {
            if (request.getSha256().isEmpty() || request.getTotalSize() == 0) {
                // A relayed stream's digest would otherwise come from the peer's last chunk: the peer would choose it.
                throw AgentException.invalidArgument("a relay transfer must be announced with its sha256 and total_size");
            }
            X509Certificate coordinator = caller.orElseThrow(() -> AgentException.relayRefused(
                    "a relay grant needs the coordinator's certificate from the TLS session"));
            relays.announce(id, operationId, request.getRelay(), coordinator, request.getNextHopDataPortsMap());
        } else {
            // The latest announcement decides: after a failed relay the coordinator sends directly to every
            // host, and an upload to this one must then not be forwarded along the old chain.
            relays.forget(id);
        }
        return begin(request, operationId);
    }

    public StagingArea staging() {
        return staging;
    }

    public synchronized TransferState begin(BeginTransferRequest request, String operationId) throws IOException {
        String id = Grammar.identifier(request.getTransferId(), "transfer_id");
        String sha = request.getSha256().toLowerCase(Locale.ROOT);
        if (!sha.isEmpty()) {
            Grammar.require(sha, Grammar.SHA256_HEX, "sha256", "64 hex digits (SHA-256) or empty");
        }
        if (request.getTotalSize() < 0) {
            throw AgentException.invalidArgument("total_size must be >= 0 (0 when unknown), got " + request.getTotalSize());
        }
        requireWithinCap(request.getTotalSize(), "the announced total_size");
        if (receiving.contains(id)) {
            throw AgentException.failedPrecondition(ErrorReason.TRANSFER_STILL_OPEN, "an upload of transfer " + id + " is still open: wait for it"
                    + " to end (or be cancelled) before announcing the transfer again");
        }
        staging.ensureDir();
        Path staged = staging.stagedFile(id);
        if (Files.exists(staged)) {
            return alreadyStaged(id, sha, staged, request.getSkipSnapshotStatus());
        }
        TransferAnnouncement announced = new TransferAnnouncement(id, request.getTotalSize(), sha,
                request.getSource(), operationId, request.getSkipSnapshotStatus());
        Path part = staging.partFile(id);
        Optional<TransferAnnouncement> previous = announcement(id);
        boolean continues = previous.isPresent() && (previous.get().sameFileAs(announced) || announced.completes(previous.get()));
        if (Files.exists(part) && (!continues || sha.isEmpty())) {
            // A live stream (no digest) cannot be resumed: its bytes may differ on the second attempt.
            // Once the digest is announced for the same id, what it received is continued (TransferAnnouncement.completes).
            Path aside = SafeFiles.moveAside(part, ".stale-" + clock.millis());
            log.info("transfer {}: the partial file does not belong to this announcement; moved it to {}", id, aside);
        }
        long durable = durableLength(part);
        if (request.getTotalSize() > 0 && durable > request.getTotalSize()) {
            Path aside = SafeFiles.moveAside(part, ".stale-" + clock.millis());
            log.info("transfer {}: partial file is longer than announced; moved it to {}", id, aside);
            durable = 0;
        }
        requireSpace(request.getTotalSize() > 0 ? request.getTotalSize() - durable : 0);
        SafeFiles.writeAtomically(staging.announcementFile(id), Json.lenient().writeValueAsString(announced), "rw-------");
        log.info("transfer {} announced by {} from {}: {} bytes, sha256 {}, resuming at {}", id, operationId,
                request.getSource(), request.getTotalSize(), sha.isEmpty() ? "(in the last chunk)" : sha, durable);
        return TransferState.newBuilder().setTransferId(id).setDurableOffset(durable).setSha256(sha).build();
    }

    /** Marks an upload stream of {@code transferId} open; false when another one already is. */
    public synchronized boolean startReceiving(String transferId) {
        return receiving.add(transferId);
    }

    public synchronized void stopReceiving(String transferId) {
        receiving.remove(transferId);
    }

    public Optional<TransferAnnouncement> announcement(String transferId) throws IOException {
        Path file = staging.announcementFile(transferId);
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        return Optional.of(Json.lenient().readValue(file.toFile(), TransferAnnouncement.class));
    }

    /** Checks a fully received .part, renames it to .db and inspects it; moves it aside when corrupt. */
    public TransferResult complete(String transferId, String expectedSha, SnapshotDigest digest, boolean withStatus)
            throws IOException {
        Path part = staging.partFile(transferId);
        String actual = digest.hex();
        if (!actual.equals(expectedSha)) {
            Path aside = SafeFiles.moveAside(part, ".corrupt-" + clock.millis());
            log.warn("transfer {}: digest mismatch (expected {}, got {}); kept the file as {}",
                    transferId, expectedSha, actual, aside);
            throw AgentException.dataLoss("digest mismatch: expected " + expectedSha + " got " + actual
                    + "; the received file was moved to " + aside + ": send the file again");
        }
        Path staged = staging.stagedFile(transferId);
        SafeFiles.moveNoReplace(part, staged);
        try {
            TransferResult result = describe(transferId, staged, digest, withStatus);
            completed.put(transferId, new Completed(result, result.getSize(),
                    Files.getLastModifiedTime(staged).toMillis()));
            log.info("transfer {} complete: {} bytes, sha256 {}, revision {}, trailer {}", transferId,
                    result.getSize(), actual, result.hasSnapshotStatus() ? result.getSnapshotStatus().getRevision()
                            : "(not read: the coordinator asks another host)", result.getHasHashTrailer());
            failpoints.hit(Failpoints.TRANSFER_CHECKED);
            return result;
        } catch (AgentException notASnapshot) {
            Path aside = SafeFiles.moveAside(staged, ".invalid-" + clock.millis());
            throw AgentException.failedPrecondition(ErrorReason.NOT_A_SNAPSHOT, notASnapshot.getMessage() + "; the file was moved to " + aside);
        }
    }

    /**
     * Stages a snapshot this agent took itself ({@code file}, inside the staging dir) under {@code transferId},
     * as a received transfer is staged: announced (size, digest), renamed without replacing, etcd's snapshot
     * status read. The same snapshot taken again (a resumed run; a member without quorum does not move)
     * finds its file already staged: that one stands, and {@code file} is left to the caller to remove.
     */
    public synchronized TransferResult adopt(String transferId, Path file, SnapshotDigest digest, String source,
                                             String operationId) throws IOException {
        String id = Grammar.identifier(transferId, "transfer_id");
        if (receiving.contains(id)) {
            throw AgentException.failedPrecondition(ErrorReason.TRANSFER_STILL_OPEN, "an upload of transfer " + id
                    + " is still open: wait for it to end before taking the snapshot again");
        }
        Path staged = staging.stagedFile(id);
        if (Files.exists(staged)) {
            log.info("transfer {}: the snapshot just taken is the one already staged at {}; keeping that one", id, staged);
            return alreadyStaged(id, digest.hex(), staged, false).getResult();
        }
        long size = Files.size(file);
        requireWithinCap(size, "the snapshot taken");
        TransferAnnouncement announced = new TransferAnnouncement(id, size, digest.hex(), source, operationId, false);
        SafeFiles.writeAtomically(staging.announcementFile(id), Json.lenient().writeValueAsString(announced), "rw-------");
        SafeFiles.moveNoReplace(file, staged);
        try {
            TransferResult result = describe(id, staged, digest, true);
            completed.put(id, new Completed(result, result.getSize(), Files.getLastModifiedTime(staged).toMillis()));
            log.info("transfer {} taken from {}: {} bytes, sha256 {}, revision {}", id, source, result.getSize(),
                    result.getSha256(), result.getSnapshotStatus().getRevision());
            return result;
        } catch (AgentException notASnapshot) {
            Path aside = SafeFiles.moveAside(staged, ".invalid-" + clock.millis());
            throw AgentException.failedPrecondition(ErrorReason.NOT_A_SNAPSHOT, notASnapshot.getMessage() + "; the file was moved to " + aside);
        }
    }

    private TransferState alreadyStaged(String id, String sha, Path staged, boolean skipStatus) throws IOException {
        Completed known = completed.get(id);
        if (known != null && (skipStatus || known.result().hasSnapshotStatus()) && known.size() == Files.size(staged)
                && known.modifiedMillis() == Files.getLastModifiedTime(staged).toMillis()
                && (sha.isEmpty() || sha.equals(known.result().getSha256()))) {
            return TransferState.newBuilder().setTransferId(id).setDurableOffset(known.size()).setComplete(true)
                    .setSha256(known.result().getSha256()).setResult(known.result()).build();
        }
        SnapshotDigest digest = SnapshotInspector.digest(staged);
        String existing = digest.hex();
        if (sha.isEmpty() || !sha.equals(existing)) {
            throw AgentException.alreadyExists("transfer " + id + " is already staged at " + staged
                    + " with sha256 " + existing + (sha.isEmpty() ? "" : ", not " + sha)
                    + ": choose a new transfer id");
        }
        TransferResult result = describe(id, staged, digest, !skipStatus);
        return TransferState.newBuilder().setTransferId(id).setDurableOffset(result.getSize()).setComplete(true)
                .setSha256(existing).setResult(result).build();
    }

    /** {@code withStatus}: run etcd's snapshot status, which reads the whole database (1.2 s of CPU for 1.6 GB). */
    private TransferResult describe(String id, Path staged, SnapshotDigest digest, boolean withStatus) throws IOException {
        TransferResult.Builder result = TransferResult.newBuilder()
                .setTransferId(id)
                .setSize(Files.size(staged))
                .setSha256(digest.hex())
                .setStagedPath(staged.toString())
                .setHasHashTrailer(digest.trailer() == SnapshotDigest.Trailer.VALID);
        if (withStatus) {
            result.setSnapshotStatus(inspector.status(staged));
        }
        return result.build();
    }

    /** Length of the .part after an fsync: only bytes on stable storage count as received. */
    private static long durableLength(Path part) throws IOException {
        if (!Files.exists(part)) {
            return 0;
        }
        try (FileChannel channel = FileChannel.open(part, StandardOpenOption.WRITE)) {
            channel.force(true);
            return channel.size();
        }
    }

    /** Refuses a snapshot beyond agent.yaml's max_snapshot_bytes, announced or as received so far. */
    void requireWithinCap(long size, String what) {
        if (maxSnapshotBytes > 0 && size > maxSnapshotBytes) {
            throw AgentException.resourceExhausted(what + " (" + size + " bytes) exceeds max_snapshot_bytes ("
                    + maxSnapshotBytes + ") in agent.yaml: raise it if the cluster's database really is that large");
        }
    }

    /**
     * During a stream: a live transfer announces no size, so its space cannot be checked up front;
     * checked as it grows instead, so it never takes the last {@link #FREE_SPACE_MARGIN} of the disk.
     */
    void requireSpaceWhileReceiving() throws IOException {
        requireSpace(0);
    }

    private void requireSpace(long bytesToCome) throws IOException {
        long free = Files.getFileStore(staging.dir()).getUsableSpace();
        if (free < bytesToCome + FREE_SPACE_MARGIN) {
            throw AgentException.resourceExhausted("staging dir " + staging.dir() + " has " + free
                    + " bytes free; the transfer needs " + bytesToCome + " more plus a margin of "
                    + FREE_SPACE_MARGIN + ": free disk space or move state_dir");
        }
    }
}
