package dev.etcdrescue.agent.rollback;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.io.SafeFiles;
import dev.etcdrescue.agent.journal.JournalEntry;
import dev.etcdrescue.agent.journal.JournalEntry.Kind;
import dev.etcdrescue.agent.journal.JournaledMoves;
import dev.etcdrescue.agent.journal.OperationJournal;
import dev.etcdrescue.agent.systemd.Systemctl;
import dev.etcdrescue.proto.v1.MovedFile;
import dev.etcdrescue.proto.v1.RollbackResult;
import dev.etcdrescue.proto.v1.UnitState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Undoes what one operation did on this host, from its journal. Every entry is treated as "may have
 * happened" (entries are written before acting), and each undo step checks the current state first,
 * so a second Rollback, or one after a crash, does only what is still needed. Nothing is deleted:
 * what the operation created goes to {@code <path>.rolled-back-<operation_id>}.
 */
public final class RollbackRunner {
    private static final Logger log = LoggerFactory.getLogger(RollbackRunner.class);

    private final OperationJournal journal;
    private final Systemctl systemctl;

    public RollbackRunner(OperationJournal journal, Systemctl systemctl) {
        this.journal = journal;
        this.systemctl = systemctl;
    }

    public RollbackResult rollback(String operationId) throws IOException {
        return rollback(operationId, false);
    }

    /**
     * As {@link #rollback(String)}; with {@code keepFence}, the operation's fence stays: units that were there
     * before it are left stopped and disabled as it left them, and directories it moved aside (a replaced
     * member's data and WAL dirs, which must never serve again once etcd removed that member) stay aside.
     * What it created is moved aside, files it moved aside are moved back, and every unit it started,
     * enabled or wrote is stopped and disabled.
     */
    public RollbackResult rollback(String operationId, boolean keepFence) throws IOException {
        List<JournalEntry> entries = journal.read(operationId);
        Set<Integer> undone = new HashSet<>();
        entries.stream().filter(e -> e.kind() == Kind.UNDONE).forEach(e -> undone.add(e.undone()));
        if (entries.stream().noneMatch(e -> e.kind().changesHost())) {
            log.info("rollback of {}: the operation changed nothing on this host", operationId);
            return RollbackResult.getDefaultInstance();
        }
        journal.append(operationId, JournalEntry.rollback(journal.now()));
        List<String> actions = new ArrayList<>();
        List<MovedFile> movedAside = new ArrayList<>();
        Set<String> createdUnits = new LinkedHashSet<>();
        Map<String, JournalEntry> before = new LinkedHashMap<>();
        Set<String> startedOrEnabled = new LinkedHashSet<>();
        for (JournalEntry e : entries) {
            switch (e.kind()) {
                case CREATED_UNIT -> createdUnits.add(e.unit());
                case UNIT_BEFORE -> before.putIfAbsent(e.unit(), e);
                case UNIT_STARTED, UNIT_ENABLED -> startedOrEnabled.add(e.unit());
                default -> { }
            }
        }
        // First of all, no member this operation brought up may keep serving clients: stop every unit
        // it started, enabled or wrote (a unit file written may have been started by hand, or by a
        // StartMember whose journal line the agent wrote just before dying) that was not there before.
        Set<String> ours = new LinkedHashSet<>(startedOrEnabled);
        ours.addAll(createdUnits);
        for (String unit : ours) {
            if (keepFence || !before.containsKey(unit)) {
                quiesce(unit, actions);
            }
        }
        // File undos are marked UNDONE after they happen: a path created, moved aside and moved back
        // must not be moved again by a second Rollback, and a crash between an undo and its mark is
        // harmless because each undo first checks that its source still exists.
        for (int i = entries.size() - 1; i >= 0; i--) {
            JournalEntry e = entries.get(i);
            if (undone.contains(i)) {
                continue;
            }
            if (e.kind() == Kind.CREATED || e.kind() == Kind.CREATED_UNIT) {
                Path path = Path.of(e.path());
                if (SafeFiles.exists(path)) {
                    Path aside = new JournaledMoves(journal).leaveAside(operationId, path, ".rolled-back-" + operationId);
                    movedAside.add(MovedFile.newBuilder().setOriginal(path.toString()).setMovedTo(aside.toString()).build());
                    actions.add("moved " + path + ", created by this operation, aside to " + aside);
                }
                journal.append(operationId, JournalEntry.undone(journal.now(), i));
            } else if (e.kind() == Kind.MOVED_ASIDE) {
                Path original = Path.of(e.path());
                Path movedTo = Path.of(e.movedTo());
                if (keepFence && Files.isDirectory(movedTo, LinkOption.NOFOLLOW_LINKS)) {
                    // Not marked undone: a later rollback without the fence may still move it back.
                    actions.add("left " + movedTo + " aside (the fence stays: the member it belonged to is removed from the cluster)");
                    continue;
                }
                if (SafeFiles.exists(movedTo) && !SafeFiles.exists(original)) {
                    SafeFiles.moveNoReplace(movedTo, original);
                    actions.add("moved " + movedTo + " back to " + original);
                } else if (SafeFiles.exists(movedTo)) {
                    actions.add("left " + movedTo + " where it is: something new stands at " + original);
                }
                journal.append(operationId, JournalEntry.undone(journal.now(), i));
            }
        }
        systemctl.daemonReload();
        actions.add("reloaded systemd");
        if (keepFence) {
            before.keySet().forEach(unit -> actions.add("left " + unit + " as the fence left it (" + describe(systemctl.show(unit)) + ")"));
        } else {
            for (JournalEntry e : before.values()) {
                restore(e, actions);
            }
        }
        actions.forEach(a -> log.info("rollback of {}: {}", operationId, a));
        if (!createdUnits.isEmpty()) {
            log.info("rollback of {}: units created by it: {}", operationId, createdUnits);
        }
        return RollbackResult.newBuilder().addAllActions(actions).addAllMovedAside(movedAside).build();
    }

    private static String describe(UnitState state) {
        return state.getExists() ? state.getActiveState() + "/" + state.getUnitFileState() : "absent";
    }

    private void quiesce(String unit, List<String> actions) {
        UnitState state = systemctl.show(unit);
        if (!state.getExists()) {
            return;
        }
        if (Systemctl.isActive(state)) {
            systemctl.stop(unit);
            actions.add("stopped " + unit + ", started by this operation");
        }
        if (Systemctl.isEnabled(state)) {
            systemctl.disable(unit);
            actions.add("disabled " + unit + ", enabled by this operation");
        }
    }

    private void restore(JournalEntry before, List<String> actions) {
        String unit = before.unit();
        UnitState state = systemctl.show(unit);
        if (!state.getExists()) {
            throw AgentException.failedPrecondition("cannot restore " + unit + ": systemd no longer knows it");
        }
        boolean wasEnabled = Boolean.TRUE.equals(before.wasEnabled());
        boolean wasActive = Boolean.TRUE.equals(before.wasActive());
        if (wasEnabled && !Systemctl.isEnabled(state)) {
            systemctl.enable(unit);
            actions.add("re-enabled " + unit + ", as it was before the operation");
        } else if (!wasEnabled && Systemctl.isEnabled(state)) {
            systemctl.disable(unit);
            actions.add("disabled " + unit + ", as it was before the operation");
        }
        if (wasActive && !Systemctl.isActive(state)) {
            systemctl.startNoBlock(unit);
            actions.add("started " + unit + " again, as it was active before the operation");
        } else if (!wasActive && Systemctl.isActive(state)) {
            systemctl.stop(unit);
            actions.add("stopped " + unit + ", as it was inactive before the operation");
        }
    }
}
