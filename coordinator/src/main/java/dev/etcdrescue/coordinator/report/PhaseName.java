package dev.etcdrescue.coordinator.report;

/** The phases of a recovery, in the order they run. */
public enum PhaseName {
    PREFLIGHT("preflight"),
    SNAPSHOT("snapshot"),
    DISTRIBUTE("distribute"),
    RESTORE("restore"),
    CONFIGURE("configure"),
    /** A restore in place: the old members that hold the planned ports stop, just before the new ones start. */
    STOP_OLD("stop-old"),
    START("start"),
    VERIFY("verify"),
    RELEASE("release"),
    CUT_OVER("cut-over"),
    /** Not part of a recovery's sequence: undoing one. */
    ROLLBACK("rollback");

    private final String label;

    PhaseName(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
