package dev.etcdrescue.agent.transfer;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.config.AgentConfig;
import dev.etcdrescue.agent.io.ProcessResult;
import dev.etcdrescue.agent.io.ProcessRunner;
import dev.etcdrescue.agent.oldmember.BaseUnits;
import dev.etcdrescue.agent.oldmember.OldMemberReader;
import dev.etcdrescue.agent.oldmember.Setting;
import dev.etcdrescue.agent.oldmember.Specifiers;
import dev.etcdrescue.agent.restore.RestoreTools;
import dev.etcdrescue.agent.rpc.StatusMapper;
import dev.etcdrescue.agent.staging.StagingArea;
import dev.etcdrescue.proto.v1.DownloadSnapshotRequest;
import dev.etcdrescue.proto.v1.ErrorReason;
import dev.etcdrescue.proto.v1.LocalEtcdAccess;
import dev.etcdrescue.proto.v1.SnapshotChunk;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DownloadSnapshot of the local member (path empty, {@code local} set): {@code etcdctl snapshot save}
 * against this host's own etcd into a file of the agent's staging dir, streamed back by
 * {@link ChunkedFileSender}, then removed. For routine backups of a member whose client port the
 * operator's machine cannot reach.
 *
 * <p>The password reaches etcdctl only through its environment ({@code ETCDCTL_PASSWORD}, read by
 * etcdctl 3.4 and 3.5 like every flag): an argv is world-readable in {@code /proc/PID/cmdline}, an
 * environment only by the process's own user.
 */
public final class LocalSnapshotSender {
    private static final Logger log = LoggerFactory.getLogger(LocalSnapshotSender.class);
    /** The base member's own TLS files: their directories may also hold what the agent presents to it. */
    private static final Set<String> MEMBER_TLS_KEYS = Set.of("ETCD_CERT_FILE", "ETCD_KEY_FILE", "ETCD_TRUSTED_CA_FILE",
            "ETCD_PEER_CERT_FILE", "ETCD_PEER_KEY_FILE", "ETCD_PEER_TRUSTED_CA_FILE");
    private static final String TEMP_PREFIX = "local-snapshot-";
    /** How long the member gets to answer the status call before the snapshot. */
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);
    private static final Pattern DIAL_ERROR = Pattern.compile("Error while dialing ([^\\\\\"]{1,200})");

    private final LocalAccessRules rules;
    private final StagingArea staging;
    private final RestoreTools tools;
    private final ProcessRunner runner;
    private final Duration timeout;

    LocalSnapshotSender(LocalAccessRules rules, StagingArea staging, RestoreTools tools, ProcessRunner runner,
                        Duration timeout) {
        this.rules = rules;
        this.staging = staging;
        this.tools = tools;
        this.runner = runner;
        this.timeout = timeout;
    }

    /**
     * TLS files may lie in allowed_data_roots, backup_dirs, or beside the files the old member's
     * configuration (env file, flags or config file) gives etcd itself (e.g. /etc/etcd/pki); etcdctl comes from tool_dirs; one snapshot may run
     * as long as one restore.
     */
    public static LocalSnapshotSender from(AgentConfig config, ProcessRunner runner) {
        BaseUnits baseUnits = BaseUnits.system(config.baseUnitDirs());
        LocalAccessRules rules = new LocalAccessRules(config.listen().getAddress(), () -> {
            List<Path> roots = new ArrayList<>(config.allowedDataRoots());
            roots.addAll(config.backupDirs());
            baseUnits.find(config.baseUnit()).ifPresent(unit -> {
                for (Setting setting : OldMemberReader.read(unit, Specifiers.forHost(unit.name())).settings().values()) {
                    Path file = Path.of(setting.value());
                    if (MEMBER_TLS_KEYS.contains(setting.env()) && file.isAbsolute() && file.getParent() != null
                            && !roots.contains(file.getParent())) {
                        roots.add(file.getParent());
                    }
                }
            });
            return roots;
        });
        return new LocalSnapshotSender(rules, new StagingArea(config.stagingDir()),
                new RestoreTools(config.toolDirs(), runner, config.commandTimeout()), runner, config.restoreTimeout());
    }

    /**
     * Checks the request and starts the snapshot; the caller has already checked header and claim.
     * A refusal is thrown before anything runs; later failures end the call and reach {@code finished}.
     *
     * @param finished called once when the call ends: null on success, else the failure
     */
    public void start(DownloadSnapshotRequest request, StreamObserver<SnapshotChunk> observer, Consumer<Throwable> finished) {
        LocalAccessRules.Checked access = rules.check(request.getLocal());
        int chunk = ChunkedFileSender.chunkSize(request);
        Path etcdctl = etcdctl();
        Duration limit = limit(Context.current().getDeadline());
        Path temp = newTemp();
        ChunkedFileSender sender = ChunkedFileSender.attach(observer, request.getHeader(), chunk, failure -> {
            removeTemp(temp);
            finished.accept(failure);
        });
        // etcdctl runs for as long as the snapshot takes: not on the thread that serves gRPC calls.
        Thread worker = new Thread(Context.current().wrap(() -> {
            try {
                take(etcdctl, access, temp, limit);
            } catch (RuntimeException failure) {
                removeTemp(temp);
                sender.fail(failure);
                return;
            }
            if (!sender.send(temp)) {
                removeTemp(temp);
            }
        }), "local-snapshot");
        worker.setDaemon(true);
        worker.start();
    }

    /**
     * The same snapshot into {@code temp} on the calling thread (TakeSnapshot), within the caller's deadline.
     * A refusal (access outside the rules, no etcdctl) is thrown before anything runs.
     */
    void save(LocalEtcdAccess local, Path temp) {
        LocalAccessRules.Checked access = rules.check(local);
        take(etcdctl(), access, temp, limit(Context.current().getDeadline()));
    }

    /** A new name in the staging dir for one snapshot; etcdctl writes {@link #partOf} it until it is whole. */
    Path newTemp() {
        return staging.dir().resolve(TEMP_PREFIX + UUID.randomUUID() + ".db");
    }

    static Path partOf(Path temp) {
        return temp.resolveSibling(temp.getFileName() + ".part");
    }

    private Path etcdctl() {
        return tools.find("etcdctl").orElseThrow(() -> AgentException.failedPrecondition(ErrorReason.TOOL_MISSING,
                "no etcdctl in tool_dirs " + tools.toolDirs() + ": install etcd's client tools on this host"));
    }

    private void take(Path etcdctl, LocalAccessRules.Checked access, Path temp, Duration limit) {
        try {
            staging.ensureDir();
        } catch (IOException e) {
            throw AgentException.failedPrecondition("cannot create the staging dir " + staging.dir() + ": " + e.getMessage());
        }
        Map<String, String> env = new LinkedHashMap<>();
        env.put("ETCDCTL_API", "3");
        access.username().ifPresent(u -> env.put("ETCDCTL_USER", u));
        access.password().ifPresent(p -> env.put("ETCDCTL_PASSWORD", p));
        // etcdctl's snapshot stream waits for a connection without end: a short status call first
        // turns a stopped member or refused TLS into a prompt answer.
        ProcessResult probe = runner.run(argv(etcdctl, access, "--command-timeout=" + PROBE_TIMEOUT.toSeconds() + "s",
                "endpoint", "status"), env, PROBE_TIMEOUT.plusSeconds(5));
        if (!probe.succeeded()) {
            throw failed("etcdctl endpoint status", access, probe, PROBE_TIMEOUT.plusSeconds(5));
        }
        log.info("taking a snapshot of the local member at {} into {} (limit {})", access.endpoint(), temp, limit);
        ProcessResult result = runner.run(argv(etcdctl, access, "snapshot", "save", temp.toString()), env, limit);
        if (!result.succeeded()) {
            throw failed("etcdctl snapshot save", access, result, limit);
        }
        if (!Files.isRegularFile(temp)) {
            throw AgentException.failedPrecondition(ErrorReason.LOCAL_SNAPSHOT_FAILED, "etcdctl snapshot save from " + access.endpoint()
                    + " reported success but left no file at " + temp);
        }
    }

    private static List<String> argv(Path etcdctl, LocalAccessRules.Checked access, String... command) {
        List<String> argv = new ArrayList<>(List.of(etcdctl.toString(), "--endpoints=" + access.endpoint(),
                "--dial-timeout=" + PROBE_TIMEOUT.toSeconds() + "s"));
        access.ca().ifPresent(p -> argv.add("--cacert=" + p));
        access.cert().ifPresent(p -> argv.add("--cert=" + p));
        access.key().ifPresent(p -> argv.add("--key=" + p));
        argv.addAll(List.of(command));
        return argv;
    }

    /** FAILED_PRECONDITION with etcdctl's last line, and the dial error it logs above it when there is one. */
    private static AgentException failed(String what, LocalAccessRules.Checked access, ProcessResult result, Duration limit) {
        String why;
        if (result.timedOut()) {
            why = "did not finish within " + limit.toSeconds() + " s";
        } else {
            why = "exited with " + result.exitCode() + (result.tail(1).isEmpty() ? "" : ": " + result.tail(1));
            Matcher dial = DIAL_ERROR.matcher(result.stderr());
            if (dial.find()) {
                why += " (" + dial.group(1) + ")";
            }
        }
        return AgentException.failedPrecondition(ErrorReason.LOCAL_SNAPSHOT_FAILED, what + " against " + access.endpoint() + " " + why
                + ": check that the member runs and that local.* give access to it");
    }

    /** The configured limit, shortened to the caller's deadline: nobody waits for a later result. */
    private Duration limit(Deadline deadline) {
        if (deadline == null) {
            return timeout;
        }
        Duration remaining = Duration.ofMillis(Math.max(1, deadline.timeRemaining(TimeUnit.MILLISECONDS)));
        return remaining.compareTo(timeout) < 0 ? remaining : timeout;
    }

    /** Only what this call created: the snapshot and the .part etcdctl writes before renaming it. */
    static void removeTemp(Path temp) {
        for (Path path : List.of(temp, partOf(temp))) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException e) {
                log.warn("cannot remove the temporary snapshot {}: {}", path, e.getMessage());
            }
        }
    }

    /** One line for the audit log: OK or the failure's status. */
    public static String outcome(Throwable failure) {
        return failure == null ? "OK" : StatusMapper.describe(failure);
    }
}
