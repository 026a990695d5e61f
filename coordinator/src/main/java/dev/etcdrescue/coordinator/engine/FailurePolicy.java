package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.report.PhaseName;
import java.nio.file.Path;

/**
 * What the coordinator does and says after a phase failed, from what that phase leaves on the hosts
 * ({@link PhaseName#aftermath()}): the claims released, new members stopped, every host rolled back with
 * --yes, and the commands that undo or continue.
 */
final class FailurePolicy {
    private FailurePolicy() {}

    /**
     * What a failure leaves behind, and what is done about it here: nothing outside staging before
     * restore; after a failed start no new member may keep serving; with --yes every host is rolled back.
     */
    static String afterFailure(RecoveryRun run, PhaseName phase) throws InterruptedException {
        Path dir = run.options.workDir();
        PhaseName.Aftermath aftermath = phase == null ? PhaseName.Aftermath.STAGING_ONLY : phase.aftermath();
        if (aftermath == PhaseName.Aftermath.STAGING_ONLY) {
            Claims.release(run);
            return "\nNothing outside the agents' staging dirs was changed.";
        }
        if (aftermath == PhaseName.Aftermath.HOSTS_CHANGED) {
            if (phase == PhaseName.START) {
                Rollbacks.stopNewMembers(run);
            }
            if (run.options.rollbackOnFailure()) {
                Rollbacks.rollbackAll(run);
                return "\nRolled back every host (--yes): old data dirs, env files and units are back, the old unit runs again "
                        + "where it ran; what this attempt created was moved aside, not deleted.";
            }
            return "\nHosts were changed up to the " + phase.label() + " phase; every replaced file and dir was moved aside (see above), "
                    + (run.oldStoppedAtMillis == 0 ? "the old units were not touched. " : "") + "Undo with: etcd-rescue rollback " + dir
                    + " --yes\nor fix the cause and continue with: etcd-rescue resume " + dir + stoppedOld(run) + claimsKept(run);
        }
        return "\nThe new members keep running" + whereMembersServe(run, phase)
                + " for inspection. Undo with: etcd-rescue rollback " + dir + " --yes, or continue with: etcd-rescue resume " + dir
                + stoppedOld(run) + claimsKept(run);
    }

    /** Where a restore in place stopped old members: what undoes it. */
    private static String stoppedOld(RecoveryRun run) {
        return run.oldStoppedAtMillis == 0 ? "" : "\nThe old members on " + String.join(", ", run.freedPorts.keySet())
                + " were stopped for the restore in place (their data dirs untouched): rollback starts them again.";
    }

    /** Kept so that no other operation changes a half-recovered host; resume and rollback take them over. */
    private static String claimsKept(RecoveryRun run) {
        return "\nThe agents stay claimed by this operation (other operations are refused) until resume or rollback takes over,"
                + " or until the claims expire " + run.options.claimTtl().toSeconds() + " s after this command ends.";
    }

    /** After release has begun, some or all members already serve their planned client URLs. */
    private static String whereMembersServe(RecoveryRun run, PhaseName phase) {
        if (!run.fenced()) {
            return "";
        }
        return switch (phase) {
            case RELEASE -> " (the released ones on their planned client URLs, the others behind the fence)";
            case CUT_OVER -> " on their planned client URLs";
            default -> " behind the fence (clients cannot reach them)";
        };
    }
}
