package dev.etcdrescue.agent.failpoint;

import dev.etcdrescue.agent.AgentException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Named points in the agent's real code paths where a test can make it pause or fail, as etcd does
 * with gofail: a pause holds the agent (and so the coordinator waiting on it) at a known step, long
 * enough for a test to kill either process exactly there. Armed only by {@value #ENV} in the agent's
 * environment when it starts, e.g. {@code configure.afterEnvFile=sleep(30s);cutover.afterEnableNew=1*error};
 * the installed unit never sets it. One immutable instance is built at start and handed to the
 * components that hold points (never a mutable global), and an unarmed instance costs one map lookup
 * on an empty map per point.
 *
 * <p>Actions: {@code sleep(<n>ms|s|m)}, {@code error} or {@code error(<text>)} (the call fails with
 * INTERNAL naming the point), each optionally prefixed by {@code <count>*} to fire only that many times.
 */
public final class Failpoints {
    public static final String ENV = "ETCD_RESCUE_FAILPOINTS";

    /** After the old data dir is moved aside and the restore journaled, before the tool runs. */
    public static final String RESTORE_BEFORE_TOOL = "restore.beforeTool";
    /** After the tool succeeded, before the data dir is handed to the service user and the restore journaled complete. */
    public static final String RESTORE_AFTER_TOOL = "restore.afterTool";
    /** After the env file is written (renamed into place), before the unit file is. */
    public static final String CONFIGURE_AFTER_ENV_FILE = "configure.afterEnvFile";
    /** After the new unit is enabled, before the old one is stopped: both are enabled here. */
    public static final String CUTOVER_AFTER_ENABLE_NEW = "cutover.afterEnableNew";
    /** After the old unit is stopped, before it is disabled. */
    public static final String CUTOVER_AFTER_STOP_OLD = "cutover.afterStopOld";
    /** Once per upload, at the first chunk that reaches half of the announced size: a test fills the disk there. */
    public static final String TRANSFER_MIDWAY = "transfer.midway";
    /** After a received file is checked and staged, before the sender is answered: a test makes the checks slow there. */
    public static final String TRANSFER_CHECKED = "transfer.checked";
    /** After each part of a backup's upload to object storage (after the one PUT of a small file): a test kills the store there. */
    public static final String S3_AFTER_PART = "backup.s3.afterPart";
    /** Prefix of the points at the entry of each mutating RPC (and Preflight), e.g. {@code rpc.ConfigureMember}. */
    public static final String RPC = "rpc.";

    private static final List<String> RPCS = List.of("Preflight", "Claim", "RenewClaim", "ReleaseClaim", "BeginTransfer", "TakeSnapshot",
            "SendSnapshot", "RestoreMember", "ConfigureMember", "StartMember", "StopMember", "CutOver", "Rollback", "Cleanup");
    /** Every point the code holds; a name outside this set is refused at start (a typo would silently test nothing). */
    public static final Set<String> KNOWN = Stream.concat(
            Stream.of(RESTORE_BEFORE_TOOL, RESTORE_AFTER_TOOL, CONFIGURE_AFTER_ENV_FILE, CUTOVER_AFTER_ENABLE_NEW,
                    CUTOVER_AFTER_STOP_OLD, TRANSFER_MIDWAY, TRANSFER_CHECKED, S3_AFTER_PART),
            RPCS.stream().map(r -> RPC + r)).collect(Collectors.toCollection(TreeSet::new));

    private static final Logger log = LoggerFactory.getLogger(Failpoints.class);
    private static final Pattern ENTRY = Pattern.compile("\\s*([A-Za-z0-9.]+)\\s*=\\s*(?:(\\d+)\\*)?\\s*(.+?)\\s*");
    private static final Pattern SLEEP = Pattern.compile("sleep\\((\\d+)(ms|s|m)\\)");
    private static final Pattern ERROR = Pattern.compile("error(?:\\(([^()]*)\\))?");
    private static final Failpoints NONE = new Failpoints(Map.of());

    private final Map<String, Armed> armed;

    private Failpoints(Map<String, Armed> armed) {
        this.armed = Map.copyOf(armed);
    }

    /** No point armed: what the agent runs with unless {@value #ENV} is set. */
    public static Failpoints none() {
        return NONE;
    }

    /** The points armed by {@value #ENV} in {@code env}; none when it is unset or blank. */
    public static Failpoints fromEnvironment(Map<String, String> env) {
        return parse(env.get(ENV));
    }

    /**
     * Parses {@code name=action;name=action}.
     *
     * @throws IllegalArgumentException naming the entry, for an unknown point, a malformed action or a point given twice
     */
    public static Failpoints parse(String spec) {
        if (spec == null || spec.isBlank()) {
            return NONE;
        }
        Map<String, Armed> armed = new LinkedHashMap<>();
        for (String entry : spec.split(";")) {
            if (entry.isBlank()) {
                continue;
            }
            Matcher m = ENTRY.matcher(entry);
            if (!m.matches()) {
                throw new IllegalArgumentException(ENV + ": '" + entry.strip() + "' is not name=action (e.g. "
                        + CONFIGURE_AFTER_ENV_FILE + "=sleep(30s))");
            }
            String name = m.group(1);
            if (!KNOWN.contains(name)) {
                throw new IllegalArgumentException(ENV + ": unknown failpoint '" + name + "'; known: " + String.join(", ", KNOWN));
            }
            if (armed.containsKey(name)) {
                throw new IllegalArgumentException(ENV + ": failpoint '" + name + "' is given twice");
            }
            int count = m.group(2) == null ? -1 : Integer.parseInt(m.group(2));
            armed.put(name, action(name, m.group(3), count));
        }
        return new Failpoints(armed);
    }

    private static Armed action(String name, String text, int count) {
        Matcher sleep = SLEEP.matcher(text);
        if (sleep.matches()) {
            long n = Long.parseLong(sleep.group(1));
            Duration d = switch (sleep.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                default -> Duration.ofMinutes(n);
            };
            return new Armed(name, text, d, null, count);
        }
        Matcher error = ERROR.matcher(text);
        if (error.matches()) {
            return new Armed(name, text, null, error.group(1) == null ? "injected error" : error.group(1), count);
        }
        throw new IllegalArgumentException(ENV + ": failpoint '" + name + "' has action '" + text
                + "'; expected sleep(<n>ms|s|m), error or error(<text>), optionally prefixed by <count>*");
    }

    public boolean isArmed() {
        return !armed.isEmpty();
    }

    /** What is armed, for the agent's start-up log line. */
    public String describe() {
        return armed.values().stream().map(a -> a.name + "=" + (a.remaining.get() >= 0 ? a.remaining.get() + "*" : "") + a.text)
                .collect(Collectors.joining(";"));
    }

    /** Passes the point {@code name}: pauses or fails when it is armed, does nothing otherwise. */
    public void hit(String name) {
        Armed a = armed.get(name);
        if (a != null) {
            a.fire();
        }
    }

    private static final class Armed {
        private final String name;
        private final String text;
        private final Duration sleep;
        private final String error;
        /** Firings left; negative: unlimited. */
        private final AtomicInteger remaining;

        Armed(String name, String text, Duration sleep, String error, int count) {
            this.name = name;
            this.text = text;
            this.sleep = sleep;
            this.error = error;
            this.remaining = new AtomicInteger(count);
        }

        void fire() {
            if (remaining.get() >= 0 && remaining.getAndUpdate(n -> Math.max(0, n - 1)) == 0) {
                return;
            }
            if (sleep != null) {
                log.warn("failpoint {}: sleeping {} ms", name, sleep.toMillis());
                try {
                    Thread.sleep(sleep.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                log.warn("failpoint {}: going on", name);
                return;
            }
            log.warn("failpoint {}: failing the call ({})", name, error);
            throw AgentException.internal("failpoint " + name + ": " + error, null);
        }
    }
}
