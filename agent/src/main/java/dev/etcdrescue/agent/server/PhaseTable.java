package dev.etcdrescue.agent.server;

import static dev.etcdrescue.proto.v1.Phase.CLAIMED;
import static dev.etcdrescue.proto.v1.Phase.CONFIGURED;
import static dev.etcdrescue.proto.v1.Phase.CUT_OVER;
import static dev.etcdrescue.proto.v1.Phase.FAILED;
import static dev.etcdrescue.proto.v1.Phase.IDLE;
import static dev.etcdrescue.proto.v1.Phase.RECEIVED;
import static dev.etcdrescue.proto.v1.Phase.RECEIVING;
import static dev.etcdrescue.proto.v1.Phase.RESTORED;
import static dev.etcdrescue.proto.v1.Phase.RESTORING;
import static dev.etcdrescue.proto.v1.Phase.ROLLED_BACK;
import static dev.etcdrescue.proto.v1.Phase.ROLLING_BACK;
import static dev.etcdrescue.proto.v1.Phase.STARTED;
import static dev.etcdrescue.proto.v1.Phase.STARTING;

import dev.etcdrescue.proto.v1.Phase;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The phases one operation goes through on this agent and the moves allowed between them (Ratis'
 * LifeCycle habit: a table checked on every move, not scattered ifs).
 *
 * <pre>
 * IDLE ─Claim─▶ CLAIMED ─▶ RECEIVING ─▶ RECEIVED ─▶ RESTORING ─▶ RESTORED ─▶ CONFIGURED ─▶ STARTING ─▶ STARTED ─▶ CUT_OVER
 *                 │ │                       ▲                                   ▲  ▲                     │
 *                 │ └──(file already staged)┘                                   │  └──(release: re-render)┘
 *                 └───────────(only if member.data_dir already exists)──────────┘
 *
 * RESTORED, CONFIGURED ─▶ RECEIVING | RECEIVED | RESTORING    another snapshot, a new restore
 * STARTED ─▶ STARTING                                         start again after a stop
 * any ─Rollback─▶ ROLLING_BACK ─▶ ROLLED_BACK                 then as from CLAIMED
 * any ─a step fails─▶ FAILED                                  then that step again, or what its start phase allows
 * any ─ReleaseClaim─▶ IDLE
 * X ─▶ X                                                      a repeated call that changes nothing stays in place
 * </pre>
 *
 * RECEIVING, RESTORING, STARTING and ROLLING_BACK are "steps in progress": an agent that finds
 * its operation in one of them after a restart knows the step was interrupted.
 */
public final class PhaseTable {
    /** Steps in progress; the phase the step started from is remembered beside them. */
    public static final Set<Phase> IN_PROGRESS = EnumSet.of(RECEIVING, RESTORING, STARTING, ROLLING_BACK);

    /** The main line in order, for "does a repeated call move the operation forward?". */
    private static final List<Phase> MAIN_LINE = List.of(CLAIMED, RECEIVING, RECEIVED, RESTORING, RESTORED,
            CONFIGURED, STARTING, STARTED, CUT_OVER);

    private static final Map<Phase, Set<Phase>> NEXT = new EnumMap<>(Phase.class);
    /** Moves allowed only when the member's data dir already exists (configure without a restore). */
    private static final Map<Phase, Set<Phase>> NEXT_IF_DATA_DIR_EXISTS = new EnumMap<>(Phase.class);

    static {
        NEXT.put(IDLE, EnumSet.of(CLAIMED));
        NEXT.put(CLAIMED, EnumSet.of(RECEIVING, RECEIVED));
        NEXT.put(RECEIVING, EnumSet.of(RECEIVED));
        NEXT.put(RECEIVED, EnumSet.of(RECEIVING, RESTORING));
        NEXT.put(RESTORING, EnumSet.of(RESTORED));
        NEXT.put(RESTORED, EnumSet.of(RECEIVING, RECEIVED, RESTORING, CONFIGURED));
        NEXT.put(CONFIGURED, EnumSet.of(RECEIVING, RECEIVED, RESTORING, STARTING));
        NEXT.put(STARTING, EnumSet.of(STARTED));
        // The coordinator's release re-renders the running member's files, then stops and starts it.
        NEXT.put(STARTED, EnumSet.of(CONFIGURED, STARTING, CUT_OVER));
        NEXT.put(CUT_OVER, EnumSet.noneOf(Phase.class));
        NEXT.put(ROLLING_BACK, EnumSet.of(ROLLED_BACK));
        NEXT.put(ROLLED_BACK, EnumSet.copyOf(NEXT.get(CLAIMED)));
        NEXT.put(FAILED, EnumSet.noneOf(Phase.class));
        for (Phase p : NEXT.keySet()) {
            if (p != IDLE) {
                NEXT.get(p).addAll(EnumSet.of(FAILED, ROLLING_BACK, IDLE));
            }
        }
        NEXT_IF_DATA_DIR_EXISTS.put(CLAIMED, EnumSet.of(CONFIGURED));
        NEXT_IF_DATA_DIR_EXISTS.put(RECEIVED, EnumSet.of(CONFIGURED));
        NEXT_IF_DATA_DIR_EXISTS.put(ROLLED_BACK, EnumSet.of(CONFIGURED));
    }

    private PhaseTable() {}

    /**
     * Whether {@code from → to} is allowed. {@code failedFrom} is the phase a failed step started
     * from (only read when {@code from} is FAILED): a failed step may be retried, or anything allowed
     * from that phase done instead.
     */
    public static boolean allowed(Phase from, Phase failedFrom, Phase to, boolean dataDirExists) {
        if (from == to) {
            return true;
        }
        if (from == FAILED) {
            if (to == ROLLING_BACK || to == IDLE || failedFrom == to) {
                return true;
            }
            return failedFrom != null && failedFrom != FAILED && allowed(failedFrom, null, to, dataDirExists);
        }
        if (NEXT.getOrDefault(from, Set.of()).contains(to)) {
            return true;
        }
        return dataDirExists && NEXT_IF_DATA_DIR_EXISTS.getOrDefault(from, Set.of()).contains(to);
    }

    /** True when {@code to} lies after {@code from} on the main line (a repeat may move forward, never back). */
    public static boolean isForward(Phase from, Phase to) {
        int a = MAIN_LINE.indexOf(from);
        int b = MAIN_LINE.indexOf(to);
        return a >= 0 && b > a;
    }

    /** What must happen before {@code to} can be reached from {@code from}: the end of a refusal. */
    public static String whatFirst(Phase from, Phase to) {
        boolean memberStarted = from == STARTING || from == STARTED || from == CUT_OVER;
        return switch (to) {
            case RECEIVING, RECEIVED -> memberStarted
                    ? "the new member was already started by this operation: Rollback first to restore another snapshot"
                    : "finish or roll back the step in progress first";
            case RESTORING -> memberStarted
                    ? "the new member was started from the restored data dir, a new restore would move it away"
                    + " under the running member: Rollback first"
                    : "announce and upload the snapshot first (BeginTransfer, UploadSnapshot)";
            case RESTORED -> "RestoreMember must be running";
            case CONFIGURED -> from == CUT_OVER
                    ? "this operation already cut over: change the configuration with a new operation"
                    : "RestoreMember first (ConfigureMember before a restore is accepted only when member.data_dir"
                    + " already exists)";
            case STARTING, STARTED -> "ConfigureMember first";
            case CUT_OVER -> "StartMember first, and verify the new cluster";
            case ROLLED_BACK -> "Rollback must be running";
            case CLAIMED -> "Claim first";
            default -> "this move is not part of an operation";
        };
    }
}
