package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.verify.SourceRecord;
import java.time.Duration;

/**
 * What a restore in place journals before it stops the old members (when, and the source's answers for
 * verify), and the survivor's downtime once the new cluster serves; read back on resume.
 *
 * @param oldStoppedAtMillis epoch ms of the first stop, 0 before
 */
record InPlaceFacts(long oldStoppedAtMillis, SourceRecord sourceRecord, Long survivorDowntimeMillis) {

    static InPlaceFacts of(RecoveryRun run) {
        return new InPlaceFacts(run.oldStoppedAtMillis, run.sourceRecord, run.downtime == null ? null : run.downtime.toMillis());
    }

    /** Fills what the run does not know yet (a resumed run). */
    void applyTo(RecoveryRun run) {
        if (run.oldStoppedAtMillis == 0) {
            run.oldStoppedAtMillis = oldStoppedAtMillis;
        }
        if (run.sourceRecord == null) {
            run.sourceRecord = sourceRecord;
        }
        if (run.downtime == null && survivorDowntimeMillis != null) {
            run.downtime = Duration.ofMillis(survivorDowntimeMillis);
        }
    }
}
