package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Named points in the coordinator's own code where a test makes it pause or die, as the agent's
 * failpoints do for the agent (decision 0006): a crash of the coordinator between two hosts of a
 * rollback cannot be hit from outside by timing. Armed only by {@value #ENV} in the coordinator's
 * environment, e.g. {@code rollback.afterHost=1*kill}; unset, nothing is armed.
 *
 * <p>Actions: {@code sleep(<n>ms|s|m)}, or {@code kill}: the JVM halts at once with exit 137, as after
 * SIGKILL (no shutdown hook, no finally block, no report written). Each optionally prefixed by
 * {@code <count>*} to fire only that many times.
 */
public final class CoordinatorFailpoints {
    public static final String ENV = "ETCD_RESCUE_COORDINATOR_FAILPOINTS";
    /** In a rollback, after one host's agent undid the operation and before its claim is released. */
    public static final String ROLLBACK_AFTER_HOST = "rollback.afterHost";
    /** In replace-member, once the learner runs and makes progress, before the first promote: a run to roll back. */
    public static final String REPLACE_BEFORE_PROMOTE = "replace.beforePromote";
    public static final Set<String> KNOWN = Set.of(ROLLBACK_AFTER_HOST, REPLACE_BEFORE_PROMOTE);
    /** What a shell reports for a process ended by SIGKILL (128 + 9). */
    static final int KILLED = 137;

    private static final Pattern ENTRY = Pattern.compile("\\s*([A-Za-z.]+)\\s*=\\s*(?:(\\d+)\\*)?\\s*(.+?)\\s*");
    private static final Pattern SLEEP = Pattern.compile("sleep\\((\\d+)(ms|s|m)\\)");
    private static final CoordinatorFailpoints NONE = new CoordinatorFailpoints(Map.of(), code -> { });

    /** How the process ends on {@code kill}; a parameter only so the fast tests can see it fire. */
    interface Halt {
        void halt(int code);
    }

    private final Map<String, Armed> armed;
    private final Halt halt;

    private CoordinatorFailpoints(Map<String, Armed> armed, Halt halt) {
        this.armed = Map.copyOf(armed);
        this.halt = halt;
    }

    public static CoordinatorFailpoints none() {
        return NONE;
    }

    /** The points armed by {@value #ENV} in {@code env}; none when it is unset or blank. */
    public static CoordinatorFailpoints fromEnvironment(Map<String, String> env) {
        return parse(env.get(ENV), code -> Runtime.getRuntime().halt(code));
    }

    /** @throws UserException (BAD_INPUT) naming the entry, for an unknown point, a malformed action or a point given twice */
    static CoordinatorFailpoints parse(String spec, Halt halt) {
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
                throw bad("'" + entry.strip() + "' is not name=action (e.g. " + ROLLBACK_AFTER_HOST + "=1*kill)");
            }
            String name = m.group(1);
            if (!KNOWN.contains(name)) {
                throw bad("unknown failpoint '" + name + "'; known: " + KNOWN.stream().sorted().collect(Collectors.joining(", ")));
            }
            if (armed.containsKey(name)) {
                throw bad("failpoint '" + name + "' is given twice");
            }
            int count = m.group(2) == null ? -1 : Integer.parseInt(m.group(2));
            String action = m.group(3);
            Matcher sleep = SLEEP.matcher(action);
            Duration pause = null;
            if (sleep.matches()) {
                long n = Long.parseLong(sleep.group(1));
                pause = switch (sleep.group(2)) {
                    case "ms" -> Duration.ofMillis(n);
                    case "s" -> Duration.ofSeconds(n);
                    default -> Duration.ofMinutes(n);
                };
            } else if (!action.equals("kill")) {
                throw bad("failpoint '" + name + "' has action '" + action + "'; expected sleep(<n>ms|s|m) or kill, optionally prefixed by <count>*");
            }
            armed.put(name, new Armed(pause, new AtomicInteger(count)));
        }
        return new CoordinatorFailpoints(armed, halt);
    }

    private static UserException bad(String what) {
        return new UserException(FailureKind.BAD_INPUT, ENV + ": " + what);
    }

    public boolean isArmed() {
        return !armed.isEmpty();
    }

    /** Passes the point {@code name}: pauses or ends the process when it is armed, does nothing otherwise. */
    public void hit(String name) throws InterruptedException {
        Armed a = armed.get(name);
        if (a == null || (a.remaining.get() >= 0 && a.remaining.getAndUpdate(n -> Math.max(0, n - 1)) == 0)) {
            return;
        }
        if (a.sleep != null) {
            Thread.sleep(a.sleep.toMillis());
            return;
        }
        System.err.println("failpoint " + name + ": killing the coordinator (" + ENV + ", a test setting)");
        System.err.flush();
        halt.halt(KILLED);
    }

    private record Armed(Duration sleep, AtomicInteger remaining) {}
}
