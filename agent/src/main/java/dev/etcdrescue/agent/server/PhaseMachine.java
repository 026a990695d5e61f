package dev.etcdrescue.agent.server;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.journal.JournalEntry;
import dev.etcdrescue.agent.journal.OperationJournal;
import dev.etcdrescue.agent.rpc.StatusMapper;
import dev.etcdrescue.proto.v1.ErrorReason;
import dev.etcdrescue.proto.v1.Phase;
import java.util.List;
import java.util.Objects;

/**
 * The phase of the operation that holds this agent, moved only along {@link PhaseTable}. Every move
 * past CLAIMED is journaled in the operation's journal, so an agent restarted mid-operation resumes
 * in the phase it reached; a step it finds in progress (RESTORING, ...) was interrupted, and the
 * operation resumes as FAILED from the phase that step started in, ready for the step to be repeated.
 * Each move is also published to {@link StatusTracker} for GetStatus and WatchStatus.
 */
public final class PhaseMachine {
    private final OperationJournal journal;
    private final StatusTracker status;
    private String operationId;
    private Phase phase = Phase.IDLE;
    /** For a step in progress or FAILED: the phase the step started from. */
    private Phase previous;

    public PhaseMachine(OperationJournal journal, StatusTracker status) {
        this.journal = journal;
        this.status = status;
    }

    /** A Claim by {@code op}: the same operation stays where it is, another one starts from its journal. */
    public synchronized void claimed(String op) {
        if (!op.equals(operationId)) {
            load(op, "claimed by operation " + op);
        }
    }

    /** The claim was released: the agent is idle; the operation's phases stay in its journal. */
    public synchronized void released(String op) {
        if (operationId == null || op.equals(operationId)) {
            operationId = null;
            phase = Phase.IDLE;
            previous = null;
            status.phase(Phase.IDLE, op, "claim of operation " + op + " released");
        }
    }

    /** Makes {@code op} (which holds the claim) the current operation, loading its phase if needed. */
    public synchronized void sync(String op) {
        if (!op.equals(operationId)) {
            load(op, "operation " + op + " resumed");
        }
    }

    public synchronized Phase phase() {
        return phase;
    }

    public synchronized Phase failedFrom() {
        return previous;
    }

    /** Refuses with FAILED_PRECONDITION unless the current phase allows moving to {@code to}. */
    public synchronized void require(String op, String rpc, Phase to, boolean dataDirExists) {
        sync(op);
        if (!PhaseTable.allowed(phase, previous, to, dataDirExists)) {
            throw AgentException.failedPrecondition(ErrorReason.PHASE_ORDER, rpc + " is refused in phase " + describe() + " of operation " + op
                    + ": " + PhaseTable.whatFirst(base(), to));
        }
    }

    /**
     * Checks the move a step makes ({@code during} if it has one, else {@code after}) and enters
     * {@code during}. Returns the phase the step started from.
     */
    public synchronized Phase begin(String op, String rpc, Phase during, Phase after, boolean dataDirExists) {
        require(op, rpc, during != null ? during : after, dataDirExists);
        Phase from = base();
        if (during != null) {
            set(op, during, from, rpc + " running");
        }
        return from;
    }

    public synchronized void succeeded(String op, Phase after, String what) {
        if (op.equals(operationId)) {
            set(op, after, null, what);
        }
    }

    public synchronized void failed(String op, String what) {
        if (op.equals(operationId)) {
            set(op, Phase.FAILED, base(), what);
        }
    }

    /** Runs a step: checks and enters its phases, FAILED (remembering where it started) when it throws. */
    public <T> T run(String op, String rpc, Phase during, Phase after, boolean dataDirExists, RpcRunner.Work<T> work)
            throws Exception {
        begin(op, rpc, during, after, dataDirExists);
        T reply;
        try {
            reply = work.run();
        } catch (Exception | Error failure) {
            failed(op, rpc + " failed: " + StatusMapper.describe(failure));
            throw failure;
        }
        succeeded(op, after, rpc + " succeeded");
        return reply;
    }

    /**
     * A repeated call found its work already done: the operation moves forward to {@code after} when
     * that is a legal move (e.g. a retried call whose first reply was lost), and never moves back.
     */
    public synchronized void settle(String op, Phase during, Phase after, String what) {
        sync(op);
        if (PhaseTable.isForward(base(), after)
                && PhaseTable.allowed(phase, previous, during != null ? during : after, true)) {
            set(op, after, null, what);
        } else {
            status.phase(phase, op, what);
        }
    }

    /** The phase the next step starts from: a failed or interrupted step's start phase, else the current one. */
    private Phase base() {
        return (phase == Phase.FAILED || PhaseTable.IN_PROGRESS.contains(phase)) && previous != null ? previous : phase;
    }

    private String describe() {
        return phase == Phase.FAILED && previous != null ? "FAILED (a step begun in " + previous + " failed)" : phase.name();
    }

    private void set(String op, Phase next, Phase from, String what) {
        boolean changed = next != phase || !Objects.equals(from, previous) || !op.equals(operationId);
        operationId = op;
        phase = next;
        previous = from;
        if (changed && next != Phase.IDLE && next != Phase.CLAIMED) {
            journal.append(op, JournalEntry.phase(journal.now(), next.name(), from == null ? null : from.name()));
        }
        status.phase(next, op, what);
    }

    private void load(String op, String what) {
        List<JournalEntry> entries = journal.read(op);
        JournalEntry last = null;
        for (JournalEntry e : entries) {
            if (e.kind() == JournalEntry.Kind.PHASE) {
                last = e;
            }
        }
        Phase recorded = last == null ? null : parse(last.phase());
        Phase from = last == null ? null : parse(last.previous());
        operationId = op;
        if (recorded == null) {
            phase = Phase.CLAIMED;
            previous = null;
            status.phase(Phase.CLAIMED, op, what);
        } else if (PhaseTable.IN_PROGRESS.contains(recorded)) {
            phase = recorded;
            previous = from;
            set(op, Phase.FAILED, from, what + ": its step " + recorded + " was interrupted (the agent stopped during it)");
        } else {
            phase = recorded;
            previous = from;
            status.phase(recorded, op, what + " in phase " + recorded);
        }
    }

    private static Phase parse(String name) {
        if (name == null) {
            return null;
        }
        try {
            return Phase.valueOf(name);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
