package dev.etcdrescue.agent.restore;

/** The optional parts of a restore, as the request asked for them. */
public record RestoreOptions(boolean skipHashCheck, long bumpRevision, boolean markCompacted) {
    public static RestoreOptions none() {
        return new RestoreOptions(false, 0, false);
    }
}
