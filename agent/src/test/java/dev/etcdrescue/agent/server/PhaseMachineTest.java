package dev.etcdrescue.agent.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.journal.JournalEntry;
import dev.etcdrescue.agent.journal.OperationJournal;
import dev.etcdrescue.proto.v1.Phase;
import io.grpc.Status;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The phase machine on a real journal: moves, refusals, repeats, and resuming after a restart. */
class PhaseMachineTest {
    @TempDir
    Path dir;

    private OperationJournal journal() {
        return new OperationJournal(dir.resolve("journal"), Clock.systemUTC());
    }

    @Test
    void stepsMoveThePhaseAndAFailedStepRemembersWhereItBegan() throws Exception {
        StatusTracker status = new StatusTracker(Clock.systemUTC());
        PhaseMachine phases = new PhaseMachine(journal(), status);
        phases.claimed("op-1");
        assertThat(status.snapshot().getPhase()).isEqualTo(Phase.CLAIMED);

        phases.begin("op-1", "UploadSnapshot", Phase.RECEIVING, Phase.RECEIVED, false);
        phases.succeeded("op-1", Phase.RECEIVED, "uploaded");
        assertThatThrownBy(() -> phases.run("op-1", "RestoreMember", Phase.RESTORING, Phase.RESTORED, false, () -> {
            throw AgentException.failedPrecondition("tool exited 1");
        })).hasMessage("tool exited 1");

        assertThat(phases.phase()).isEqualTo(Phase.FAILED);
        assertThat(phases.failedFrom()).isEqualTo(Phase.RECEIVED);
        assertThat(status.snapshot().getLastResult()).isEqualTo("RestoreMember failed: FAILED_PRECONDITION: tool exited 1");
        assertThat(phases.run("op-1", "RestoreMember", Phase.RESTORING, Phase.RESTORED, false, () -> "ok")).isEqualTo("ok");
        assertThat(status.snapshot().getPhase()).isEqualTo(Phase.RESTORED);
    }

    @Test
    void anIllegalMoveIsFailedPreconditionAndChangesNothing() {
        PhaseMachine phases = new PhaseMachine(journal(), new StatusTracker(Clock.systemUTC()));
        phases.claimed("op-1");

        assertThatThrownBy(() -> phases.run("op-1", "StartMember", Phase.STARTING, Phase.STARTED, false, () -> "started"))
                .isInstanceOfSatisfying(AgentException.class, e -> {
                    assertThat(e.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getMessage()).isEqualTo("StartMember is refused in phase CLAIMED of operation op-1:"
                            + " ConfigureMember first");
                });
        assertThat(phases.phase()).isEqualTo(Phase.CLAIMED);
    }

    @Test
    void aRepeatMovesForwardButNeverBack() {
        PhaseMachine phases = new PhaseMachine(journal(), new StatusTracker(Clock.systemUTC()));
        phases.claimed("op-1");
        phases.settle("op-1", null, Phase.RECEIVED, "already staged");
        assertThat(phases.phase()).isEqualTo(Phase.RECEIVED);

        phases.begin("op-1", "RestoreMember", Phase.RESTORING, Phase.RESTORED, false);
        phases.succeeded("op-1", Phase.RESTORED, "restored");
        phases.begin("op-1", "ConfigureMember", null, Phase.CONFIGURED, false);
        phases.succeeded("op-1", Phase.CONFIGURED, "configured");
        phases.settle("op-1", Phase.RESTORING, Phase.RESTORED, "restore repeated");
        assertThat(phases.phase()).isEqualTo(Phase.CONFIGURED);

        phases.claimed("op-1");
        assertThat(phases.phase()).as("a re-claim by the same operation stays in place").isEqualTo(Phase.CONFIGURED);
    }

    @Test
    void aRestartedAgentResumesTheOperationAndAStepInProgressBecomesFailed() throws Exception {
        PhaseMachine first = new PhaseMachine(journal(), new StatusTracker(Clock.systemUTC()));
        first.claimed("op-1");
        first.settle("op-1", null, Phase.RECEIVED, "staged");
        first.begin("op-1", "RestoreMember", Phase.RESTORING, Phase.RESTORED, false);

        StatusTracker status = new StatusTracker(Clock.systemUTC());
        PhaseMachine restarted = new PhaseMachine(journal(), status);
        restarted.sync("op-1");

        assertThat(restarted.phase()).isEqualTo(Phase.FAILED);
        assertThat(restarted.failedFrom()).isEqualTo(Phase.RECEIVED);
        assertThat(status.snapshot().getLastResult()).contains("RESTORING was interrupted");
        assertThat(restarted.run("op-1", "RestoreMember", Phase.RESTORING, Phase.RESTORED, false, () -> "again"))
                .isEqualTo("again");
        assertThat(journal().read("op-1")).filteredOn(e -> e.kind() == JournalEntry.Kind.PHASE)
                .extracting(JournalEntry::phase)
                .containsExactly("RECEIVED", "RESTORING", "FAILED", "RESTORING", "RESTORED");
    }

    @Test
    void aReleasedClaimIsIdleAndANewOperationStartsClaimed() {
        StatusTracker status = new StatusTracker(Clock.systemUTC());
        PhaseMachine phases = new PhaseMachine(journal(), status);
        phases.claimed("op-1");
        phases.settle("op-1", null, Phase.RECEIVED, "staged");

        phases.released("op-1");
        assertThat(status.snapshot().getPhase()).isEqualTo(Phase.IDLE);
        phases.claimed("op-2");
        assertThat(phases.phase()).isEqualTo(Phase.CLAIMED);
        phases.claimed("op-1");
        assertThat(phases.phase()).as("op-1 resumes from its journal").isEqualTo(Phase.RECEIVED);
    }
}
