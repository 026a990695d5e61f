package dev.etcdrescue.agent.journal;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One line of an operation's journal: what the agent is ABOUT to do (written before acting), with
 * enough to undo it. Unused fields are left null.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record JournalEntry(
        @JsonProperty("time_unix_ms") long timeUnixMs,
        @JsonProperty("kind") Kind kind,
        @JsonProperty("path") String path,
        @JsonProperty("moved_to") String movedTo,
        @JsonProperty("unit") String unit,
        @JsonProperty("was_active") Boolean wasActive,
        @JsonProperty("was_enabled") Boolean wasEnabled,
        @JsonProperty("undone") Integer undone,
        @JsonProperty("phase") String phase,
        @JsonProperty("previous") String previous,
        @JsonProperty("transfer_id") String transferId,
        @JsonProperty("member") String member,
        @JsonProperty("result") String result) {

    public enum Kind {
        /** {@code path} is being moved aside to {@code moved_to}. */
        MOVED_ASIDE,
        /**
         * {@code path}, this operation's own output (a failed or interrupted restore's, or what a
         * rollback takes away), is being moved to {@code moved_to} for good: Rollback does not move
         * it back, and Cleanup may remove it.
         */
        LEFT_ASIDE,
        /** {@code path} (a data dir, WAL dir or file) is being created by this operation. */
        CREATED,
        /** {@code path} is a unit file for {@code unit} written by this operation. */
        CREATED_UNIT,
        /** The state of a pre-existing {@code unit} before this operation touched it. */
        UNIT_BEFORE,
        UNIT_STARTED,
        UNIT_ENABLED,
        UNIT_STOPPED,
        UNIT_DISABLED,
        ROLLBACK,
        /** Entry number {@code undone} of this journal was undone (written after the undo). */
        UNDONE,
        /**
         * The operation's phase moved to {@code phase}; {@code previous} is the phase the step started
         * from (set for steps in progress and FAILED). Not a change to the host: Rollback ignores it.
         */
        PHASE,
        /** A restore of {@code transfer_id} for the member key {@code member} into {@code path} is starting. */
        RESTORE_STARTED,
        /** That restore completed and was handed over; {@code result} is the RestoreResult (base64 protobuf). */
        RESTORE_COMPLETED;

        /** Kinds that record a change to the host, which Rollback may have to undo. */
        public boolean changesHost() {
            return this != ROLLBACK && this != UNDONE && this != PHASE && this != RESTORE_STARTED
                    && this != RESTORE_COMPLETED && this != LEFT_ASIDE;
        }
    }

    public static JournalEntry movedAside(long now, String path, String movedTo) {
        return new JournalEntry(now, Kind.MOVED_ASIDE, path, movedTo, null, null, null, null, null, null, null, null, null);
    }

    public static JournalEntry leftAside(long now, String path, String movedTo) {
        return new JournalEntry(now, Kind.LEFT_ASIDE, path, movedTo, null, null, null, null, null, null, null, null, null);
    }

    public static JournalEntry created(long now, String path) {
        return new JournalEntry(now, Kind.CREATED, path, null, null, null, null, null, null, null, null, null, null);
    }

    public static JournalEntry createdUnit(long now, String path, String unit) {
        return new JournalEntry(now, Kind.CREATED_UNIT, path, null, unit, null, null, null, null, null, null, null, null);
    }

    public static JournalEntry unitBefore(long now, String unit, boolean active, boolean enabled) {
        return new JournalEntry(now, Kind.UNIT_BEFORE, null, null, unit, active, enabled, null, null, null, null, null, null);
    }

    public static JournalEntry undone(long now, int index) {
        return new JournalEntry(now, Kind.UNDONE, null, null, null, null, null, index, null, null, null, null, null);
    }

    public static JournalEntry rollback(long now) {
        return new JournalEntry(now, Kind.ROLLBACK, null, null, null, null, null, null, null, null, null, null, null);
    }

    public static JournalEntry unit(long now, Kind kind, String unit) {
        return new JournalEntry(now, kind, null, null, unit, null, null, null, null, null, null, null, null);
    }

    public static JournalEntry phase(long now, String phase, String previous) {
        return new JournalEntry(now, Kind.PHASE, null, null, null, null, null, null, phase, previous, null, null, null);
    }

    public static JournalEntry restoreStarted(long now, String dataDir, String transferId, String member) {
        return new JournalEntry(now, Kind.RESTORE_STARTED, dataDir, null, null, null, null, null, null, null, transferId,
                member, null);
    }

    public static JournalEntry restoreCompleted(long now, String dataDir, String transferId, String member,
                                                String result) {
        return new JournalEntry(now, Kind.RESTORE_COMPLETED, dataDir, null, null, null, null, null, null, null,
                transferId, member, result);
    }
}
