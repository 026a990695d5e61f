package dev.etcdrescue.agent.server;

import static dev.etcdrescue.proto.v1.Phase.CLAIMED;
import static dev.etcdrescue.proto.v1.Phase.CONFIGURED;
import static dev.etcdrescue.proto.v1.Phase.CUT_OVER;
import static dev.etcdrescue.proto.v1.Phase.FAILED;
import static dev.etcdrescue.proto.v1.Phase.IDLE;
import static dev.etcdrescue.proto.v1.Phase.RECEIVED;
import static dev.etcdrescue.proto.v1.Phase.RECEIVING;
import static dev.etcdrescue.proto.v1.Phase.RESTORED;
import static dev.etcdrescue.proto.v1.Phase.RESTORING;
import static dev.etcdrescue.proto.v1.Phase.ROLLED_BACK;
import static dev.etcdrescue.proto.v1.Phase.ROLLING_BACK;
import static dev.etcdrescue.proto.v1.Phase.STARTED;
import static dev.etcdrescue.proto.v1.Phase.STARTING;
import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.proto.v1.Phase;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The transition table, pure: which moves are legal and what a refusal tells the coordinator. */
class PhaseTableTest {
    private static final Set<Phase> REAL = EnumSet.complementOf(EnumSet.of(Phase.PHASE_UNSPECIFIED, Phase.UNRECOGNIZED));

    @Test
    void theRecoveryWalksTheMainLine() {
        List<Phase> line = List.of(IDLE, CLAIMED, RECEIVING, RECEIVED, RESTORING, RESTORED, CONFIGURED, STARTING,
                STARTED, CUT_OVER);
        for (int i = 1; i < line.size(); i++) {
            assertThat(PhaseTable.allowed(line.get(i - 1), null, line.get(i), false))
                    .as(line.get(i - 1) + " -> " + line.get(i)).isTrue();
        }
    }

    @Test
    void theCoordinatorsReleaseReconfiguresTheRunningMemberThenStartsItAgain() {
        assertThat(PhaseTable.allowed(STARTED, null, CONFIGURED, false)).isTrue();
        assertThat(PhaseTable.allowed(CONFIGURED, null, STARTING, false)).isTrue();
        assertThat(PhaseTable.allowed(STARTED, null, STARTING, false)).isTrue();
    }

    @Test
    void aSnapshotAlreadyStagedSkipsReceiving() {
        assertThat(PhaseTable.allowed(CLAIMED, null, RECEIVED, false)).isTrue();
    }

    @ParameterizedTest
    @EnumSource(value = Phase.class, names = {"PHASE_UNSPECIFIED", "UNRECOGNIZED"}, mode = EnumSource.Mode.EXCLUDE)
    void everyPhaseMayStayInPlaceFailRollBackAndBeReleased(Phase from) {
        assertThat(PhaseTable.allowed(from, null, from, false)).isTrue();
        assertThat(PhaseTable.allowed(from, null, IDLE, false)).isTrue();
        if (from != IDLE) {
            assertThat(PhaseTable.allowed(from, null, FAILED, false)).isTrue();
            assertThat(PhaseTable.allowed(from, null, ROLLING_BACK, false)).isTrue();
        }
    }

    @Test
    void stepsOutOfOrderAreRefused() {
        assertThat(PhaseTable.allowed(CLAIMED, null, RESTORING, false)).as("restore before upload").isFalse();
        assertThat(PhaseTable.allowed(CLAIMED, null, STARTING, false)).as("start before configure").isFalse();
        assertThat(PhaseTable.allowed(RESTORED, null, STARTING, false)).as("start before configure").isFalse();
        assertThat(PhaseTable.allowed(CONFIGURED, null, CUT_OVER, false)).as("cut over before start").isFalse();
        assertThat(PhaseTable.allowed(STARTED, null, RESTORING, false)).as("restore under a running member").isFalse();
        assertThat(PhaseTable.allowed(STARTED, null, RECEIVING, false)).as("new snapshot after start").isFalse();
        assertThat(PhaseTable.allowed(CUT_OVER, null, CONFIGURED, true)).as("reconfigure after cut-over").isFalse();
        assertThat(PhaseTable.allowed(IDLE, null, RECEIVING, false)).as("anything before a claim").isFalse();
        assertThat(PhaseTable.allowed(CLAIMED, null, ROLLED_BACK, false)).as("rolled back without rolling back").isFalse();
    }

    @Test
    void configureWithoutRestoreOnlyForAnExistingDataDir() {
        for (Phase from : List.of(CLAIMED, RECEIVED, ROLLED_BACK)) {
            assertThat(PhaseTable.allowed(from, null, CONFIGURED, false)).as(from + " without data dir").isFalse();
            assertThat(PhaseTable.allowed(from, null, CONFIGURED, true)).as(from + " with data dir").isTrue();
        }
        assertThat(PhaseTable.allowed(RESTORED, null, CONFIGURED, false)).isTrue();
    }

    @Test
    void afterAFailureTheStepMayBeRetriedOrAnythingItsStartPhaseAllows() {
        assertThat(PhaseTable.allowed(FAILED, RECEIVED, RESTORING, false)).as("retry the restore").isTrue();
        assertThat(PhaseTable.allowed(FAILED, RECEIVED, RECEIVING, false)).as("upload another snapshot").isTrue();
        assertThat(PhaseTable.allowed(FAILED, RECEIVED, STARTING, false)).as("skip ahead").isFalse();
        assertThat(PhaseTable.allowed(FAILED, CONFIGURED, STARTING, false)).as("retry the start").isTrue();
        assertThat(PhaseTable.allowed(FAILED, CONFIGURED, CUT_OVER, false)).as("cut over a member never started").isFalse();
        assertThat(PhaseTable.allowed(FAILED, STARTED, CUT_OVER, false)).as("retry the cut-over").isTrue();
        assertThat(PhaseTable.allowed(FAILED, null, ROLLING_BACK, false)).isTrue();
        assertThat(PhaseTable.allowed(FAILED, null, RESTORING, false)).isFalse();
    }

    @Test
    void aRolledBackOperationMayStartOver() {
        assertThat(PhaseTable.allowed(ROLLED_BACK, null, RECEIVING, false)).isTrue();
        assertThat(PhaseTable.allowed(ROLLED_BACK, null, RECEIVED, false)).isTrue();
        assertThat(PhaseTable.allowed(ROLLED_BACK, null, STARTING, false)).isFalse();
    }

    @Test
    void onlyRestoringReachesRestoredAndOnlyRollingBackReachesRolledBack() {
        Set<Phase> toRestored = REAL.stream().filter(p -> p != RESTORED && PhaseTable.allowed(p, null, RESTORED, true))
                .collect(Collectors.toSet());
        Set<Phase> toRolledBack = REAL.stream().filter(p -> p != ROLLED_BACK && PhaseTable.allowed(p, null, ROLLED_BACK, true))
                .collect(Collectors.toSet());
        assertThat(toRestored).containsExactly(RESTORING);
        assertThat(toRolledBack).containsExactly(ROLLING_BACK);
    }

    @Test
    void forwardMeansLaterOnTheMainLine() {
        assertThat(PhaseTable.isForward(RECEIVED, RESTORED)).isTrue();
        assertThat(PhaseTable.isForward(CONFIGURED, RESTORED)).isFalse();
        assertThat(PhaseTable.isForward(STARTED, STARTED)).isFalse();
        assertThat(PhaseTable.isForward(ROLLED_BACK, RESTORED)).isFalse();
    }

    @Test
    void refusalsSayWhatMustHappenFirst() {
        assertThat(PhaseTable.whatFirst(CLAIMED, RESTORING)).contains("BeginTransfer", "UploadSnapshot");
        assertThat(PhaseTable.whatFirst(STARTED, RESTORING)).contains("Rollback first");
        assertThat(PhaseTable.whatFirst(CLAIMED, CONFIGURED)).contains("RestoreMember first", "member.data_dir");
        assertThat(PhaseTable.whatFirst(RESTORED, STARTING)).isEqualTo("ConfigureMember first");
        assertThat(PhaseTable.whatFirst(CONFIGURED, CUT_OVER)).startsWith("StartMember first");
    }
}
