package dev.etcdrescue.agent.systemd;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.failpoint.Failpoints;
import dev.etcdrescue.agent.io.Cancellation;
import dev.etcdrescue.agent.journal.JournalEntry;
import dev.etcdrescue.agent.journal.JournalEntry.Kind;
import dev.etcdrescue.agent.journal.OperationJournal;
import dev.etcdrescue.agent.spec.UnitNames;
import dev.etcdrescue.agent.spec.UnitScope;
import dev.etcdrescue.proto.v1.CutOverRequest;
import dev.etcdrescue.proto.v1.CutOverResult;
import dev.etcdrescue.proto.v1.ErrorReason;
import dev.etcdrescue.proto.v1.UnitRequest;
import dev.etcdrescue.proto.v1.UnitState;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Start, stop and cut over units, journaling each step before it is taken. For a unit this
 * operation did not create, its state before the first change is journaled once, so Rollback can
 * put it back exactly (active/enabled) however many steps touched it.
 */
public final class UnitOperations {
    private static final Logger log = LoggerFactory.getLogger(UnitOperations.class);

    private final Systemctl systemctl;
    private final OperationJournal journal;
    private final Failpoints failpoints;
    private final UnitScope units;

    public UnitOperations(Systemctl systemctl, OperationJournal journal, Failpoints failpoints, UnitScope units) {
        this.units = units;
        this.systemctl = systemctl;
        this.journal = journal;
        this.failpoints = failpoints;
    }

    public UnitState inspect(String unit) {
        return systemctl.show(UnitNames.bare(unit, "unit"));
    }

    /**
     * The unit's state when it is already active (or activating): StartMember then does nothing, so a
     * repeated or resumed start never restarts a running member. Real {@code systemctl start} on an
     * active unit is a no-op too (it neither restarts it nor re-reads changed files); skipping it
     * also keeps the journal and the phase where they are.
     */
    public Optional<UnitState> alreadyActive(UnitRequest request) {
        UnitState state = systemctl.show(units.managed(request.getUnit(), "unit"));
        return Systemctl.isActive(state) ? Optional.of(state) : Optional.empty();
    }

    /**
     * daemon-reload, then start, waiting for the start job (ended early by {@code cancellation}). Answers
     * with the unit's state: a member whose job failed is answered as failed (or as activating, when its
     * Restart= is trying again), for the caller to report.
     */
    public UnitState start(UnitRequest request, Cancellation cancellation) {
        String op = request.getHeader().getOperationId();
        String unit = units.managed(request.getUnit(), "unit");
        recordBeforeOnce(op, unit);
        journal.append(op, JournalEntry.unit(journal.now(), Kind.UNIT_STARTED, unit));
        systemctl.daemonReload();
        Optional<String> notDone = systemctl.startAndWait(unit, cancellation);
        UnitState state = systemctl.show(unit);
        log.info("start {} for operation {}, waited: {} ({}){}", unit, op, state.getActiveState(), state.getSubState(),
                notDone.map(why -> "; " + why).orElse(""));
        if (notDone.isPresent() && !state.getActiveState().equals("failed") && !Systemctl.isActive(state)) {
            // Neither failed nor under way: systemctl refused the start (no such unit, no permission).
            throw AgentException.failedPrecondition(ErrorReason.UNIT_FAILED, notDone.get() + "; see journalctl -u " + unit);
        }
        return state;
    }

    public UnitState stop(UnitRequest request) {
        String op = request.getHeader().getOperationId();
        String unit = units.managed(request.getUnit(), "unit");
        requireExists(unit, "unit");
        recordBeforeOnce(op, unit);
        journal.append(op, JournalEntry.unit(journal.now(), Kind.UNIT_STOPPED, unit));
        systemctl.stop(unit);
        log.info("stopped {} for operation {}", unit, op);
        if (request.getDisable() && Systemctl.isEnabled(systemctl.show(unit))) {
            journal.append(op, JournalEntry.unit(journal.now(), Kind.UNIT_DISABLED, unit));
            systemctl.disable(unit);
            log.info("disabled {} for operation {}", unit, op);
        }
        return systemctl.show(unit);
    }

    /** Checks both unit names against the grammar and agent.yaml's {@code units:}. */
    public void checkNames(CutOverRequest request) {
        units.managed(request.getNewUnit(), "new_unit");
        units.managed(request.getOldUnit(), "old_unit");
    }

    public CutOverResult cutOver(CutOverRequest request) {
        String op = request.getHeader().getOperationId();
        String newUnit = units.managed(request.getNewUnit(), "new_unit");
        String oldUnit = units.managed(request.getOldUnit(), "old_unit");
        if (newUnit.equals(oldUnit)) {
            throw AgentException.invalidArgument("new_unit and old_unit are both " + newUnit);
        }
        requireExists(newUnit, "new_unit");
        JournalEntry before = recordBeforeOnce(op, oldUnit).orElseThrow(() -> AgentException.failedPrecondition(
                "old_unit " + oldUnit + " was created by this operation; name the unit the new member replaces"));
        // Each change only when still needed: a repeated CutOver changes nothing and journals nothing,
        // and what Rollback restores stays the state recorded before this operation's first change.
        boolean changed = false;
        if (!Systemctl.isEnabled(systemctl.show(newUnit))) {
            journal.append(op, JournalEntry.unit(journal.now(), Kind.UNIT_ENABLED, newUnit));
            systemctl.enable(newUnit);
            changed = true;
        }
        failpoints.hit(Failpoints.CUTOVER_AFTER_ENABLE_NEW);
        UnitState old = systemctl.show(oldUnit);
        if (old.getExists() && Systemctl.isActive(old)) {
            journal.append(op, JournalEntry.unit(journal.now(), Kind.UNIT_STOPPED, oldUnit));
            systemctl.stop(oldUnit);
            changed = true;
        }
        failpoints.hit(Failpoints.CUTOVER_AFTER_STOP_OLD);
        if (old.getExists() && Systemctl.isEnabled(old)) {
            journal.append(op, JournalEntry.unit(journal.now(), Kind.UNIT_DISABLED, oldUnit));
            systemctl.disable(oldUnit);
            changed = true;
        }
        log.info(changed ? "cut over from {} to {} for operation {}" : "already cut over from {} to {} for operation {}",
                oldUnit, newUnit, op);
        return CutOverResult.newBuilder()
                .setNewUnit(systemctl.show(newUnit))
                .setOldUnit(systemctl.show(oldUnit))
                .setOldWasActive(Boolean.TRUE.equals(before.wasActive()))
                .setOldWasEnabled(Boolean.TRUE.equals(before.wasEnabled()))
                .build();
    }

    /**
     * Journals the unit's state before this operation first touches it; returns that first record,
     * or empty for a unit this operation created (Rollback removes those instead of restoring them).
     */
    private Optional<JournalEntry> recordBeforeOnce(String op, String unit) {
        JournalEntry first = null;
        for (JournalEntry e : journal.read(op)) {
            if (unit.equals(e.unit()) && e.kind() == Kind.CREATED_UNIT) {
                return Optional.empty();
            }
            if (first == null && unit.equals(e.unit()) && e.kind() == Kind.UNIT_BEFORE) {
                first = e;
            }
        }
        if (first != null) {
            return Optional.of(first);
        }
        UnitState state = systemctl.show(unit);
        JournalEntry entry = JournalEntry.unitBefore(journal.now(), unit, Systemctl.isActive(state),
                Systemctl.isEnabled(state));
        journal.append(op, entry);
        return Optional.of(entry);
    }

    private void requireExists(String unit, String field) {
        if (!systemctl.show(unit).getExists()) {
            throw AgentException.failedPrecondition(field + " " + unit + ".service is not known to systemd"
                    + ": write it with ConfigureMember (and let StartMember reload systemd) first");
        }
    }
}
