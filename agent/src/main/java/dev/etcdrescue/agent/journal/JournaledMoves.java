package dev.etcdrescue.agent.journal;

import dev.etcdrescue.agent.io.SafeFiles;
import dev.etcdrescue.proto.v1.MovedFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/** Moves something aside for an operation, journaling the move before making it. */
public final class JournaledMoves {
    private final OperationJournal journal;

    public JournaledMoves(OperationJournal journal) {
        this.journal = journal;
    }

    /** Moves {@code path} to {@code <path>.etcd-rescue-<operation_id>} when something is there. */
    public Optional<MovedFile> moveAsideIfPresent(String operationId, Path path) throws IOException {
        if (!SafeFiles.exists(path)) {
            return Optional.empty();
        }
        Path target = asideName(operationId, path);
        journal.append(operationId, JournalEntry.movedAside(journal.now(), path.toString(), target.toString()));
        SafeFiles.moveNoReplace(path, target);
        return Optional.of(MovedFile.newBuilder().setOriginal(path.toString()).setMovedTo(target.toString()).build());
    }

    /**
     * Moves this operation's own output at {@code path} to {@code <path><suffix>} for good, journaled
     * first so that Cleanup knows it as the agent's.
     */
    public Path leaveAside(String operationId, Path path, String suffix) throws IOException {
        Path target = SafeFiles.freeName(path, suffix);
        journal.append(operationId, JournalEntry.leftAside(journal.now(), path.toString(), target.toString()));
        SafeFiles.moveNoReplace(path, target);
        return target;
    }

    /** Where {@link #moveAsideIfPresent} would move {@code path} now; Preflight shows it without moving. */
    public Path asideName(String operationId, Path path) throws IOException {
        return SafeFiles.freeName(path, ".etcd-rescue-" + operationId);
    }

    public void recordCreated(String operationId, Path path) {
        journal.append(operationId, JournalEntry.created(journal.now(), path.toString()));
    }

    public OperationJournal journal() {
        return journal;
    }
}
