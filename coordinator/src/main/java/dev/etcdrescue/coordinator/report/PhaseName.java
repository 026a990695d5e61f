package dev.etcdrescue.coordinator.report;

/**
 * The phases of a recovery, in the order they run, each with what a failure in it leaves on the hosts
 * (stated per phase, so that inserting a phase cannot silently change the failure policy).
 */
public enum PhaseName {
    PREFLIGHT("preflight", Aftermath.STAGING_ONLY),
    SNAPSHOT("snapshot", Aftermath.STAGING_ONLY),
    DISTRIBUTE("distribute", Aftermath.STAGING_ONLY),
    RESTORE("restore", Aftermath.HOSTS_CHANGED),
    CONFIGURE("configure", Aftermath.HOSTS_CHANGED),
    /** A restore in place: the old members that hold the planned ports stop, just before the new ones start. */
    STOP_OLD("stop-old", Aftermath.HOSTS_CHANGED),
    /** A failed start stops the new members again, so none serves unverified: hosts changed, nothing running. */
    START("start", Aftermath.HOSTS_CHANGED),
    VERIFY("verify", Aftermath.MEMBERS_RUNNING),
    RELEASE("release", Aftermath.MEMBERS_RUNNING),
    CUT_OVER("cut-over", Aftermath.MEMBERS_RUNNING),
    /** Not part of a recovery's sequence: undoing one. */
    ROLLBACK("rollback", Aftermath.HOSTS_CHANGED);

    /** What a failure in a phase leaves behind. */
    public enum Aftermath {
        /** Nothing outside the agents' staging dirs has changed: the claims are released, nothing to undo. */
        STAGING_ONLY,
        /** Files were moved aside and written, no new member serves: rollback (or --yes) undoes, resume goes on. */
        HOSTS_CHANGED,
        /** The new members run (verified or being released): kept running for inspection. */
        MEMBERS_RUNNING
    }

    private final String label;
    private final Aftermath aftermath;

    PhaseName(String label, Aftermath aftermath) {
        this.label = label;
        this.aftermath = aftermath;
    }

    public String label() {
        return label;
    }

    public Aftermath aftermath() {
        return aftermath;
    }
}
