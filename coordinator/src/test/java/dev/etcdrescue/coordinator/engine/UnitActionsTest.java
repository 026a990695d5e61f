package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.coordinator.inventory.InventoryLoader;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.report.PhaseName;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The systemd actions a host sees, with and without the fence and --keep-old. */
@Timeout(30)
class UnitActionsTest {
    @TempDir Path dir;

    private MemberPlan member() throws Exception {
        String yaml = """
                all:
                  children:
                    beta:
                      vars: {cluster_token: beta-restored, snapshot_file: /backups/beta.db}
                      hosts:
                        beta-0: {address: 10.0.0.1}
                """;
        return InventoryLoader.load(Files.writeString(dir.resolve("inventory.yaml"), yaml)).clusters().get(0).members().get(0);
    }

    private static List<String> lines(List<UnitActions.Action> actions) {
        return actions.stream().map(UnitActions.Action::line).toList();
    }

    @Test
    void unfencedStartsBlockingThenCutsOver() throws Exception {
        MemberPlan m = member();
        assertThat(lines(UnitActions.of(m, false, false, List.of()))).containsExactly(
                "start: systemctl daemon-reload",
                "start: systemctl start " + m.newUnit() + ", waiting for its start job",
                "cut-over: systemctl enable " + m.newUnit() + " (unless enabled)",
                "cut-over: systemctl stop " + m.oldUnit() + " (if active)",
                "cut-over: systemctl disable " + m.oldUnit() + " (if enabled)");
    }

    @Test
    void noActionStartsWithoutWaitingForTheJob() throws Exception {
        for (boolean fenced : new boolean[] {false, true}) {
            for (boolean keepOld : new boolean[] {false, true}) {
                assertThat(lines(UnitActions.of(member(), fenced, keepOld, List.of()))).noneMatch(l -> l.contains("--no-block"));
            }
        }
    }

    @Test
    void fencedRestartsOnThePlannedClientUrlAfterVerify() throws Exception {
        MemberPlan m = member();
        List<UnitActions.Action> actions = UnitActions.of(m, true, false, List.of());
        assertThat(lines(UnitActions.in(PhaseName.RELEASE, actions))).containsExactly(
                "release: systemctl stop " + m.newUnit() + " (after verify, with its env file rewritten to client URL "
                        + m.clientUrls().get(0) + ")",
                "release: systemctl daemon-reload",
                "release: systemctl start " + m.newUnit() + ", waiting for its start job");
        assertThat(actions).extracting(UnitActions.Action::phase).containsExactly(PhaseName.START, PhaseName.START,
                PhaseName.RELEASE, PhaseName.RELEASE, PhaseName.RELEASE, PhaseName.CUT_OVER, PhaseName.CUT_OVER, PhaseName.CUT_OVER);
    }

    @Test
    void keepOldLeavesOutTheCutOver() throws Exception {
        MemberPlan m = member();
        assertThat(UnitActions.in(PhaseName.CUT_OVER, UnitActions.of(m, false, true, List.of()))).isEmpty();
        assertThat(lines(UnitActions.of(m, true, true, List.of()))).containsExactly(
                "start: systemctl daemon-reload",
                "start: systemctl start " + m.newUnit() + ", waiting for its start job",
                "release: systemctl stop " + m.newUnit() + " (after verify, with its env file rewritten to client URL "
                        + m.clientUrls().get(0) + ")",
                "release: systemctl daemon-reload",
                "release: systemctl start " + m.newUnit() + ", waiting for its start job");
    }

    @Test
    void unfencedHasNoRelease() throws Exception {
        assertThat(UnitActions.in(PhaseName.RELEASE, UnitActions.of(member(), false, false, List.of()))).isEmpty();
    }

    @Test
    void describeJoinsThePhasesCommands() throws Exception {
        MemberPlan m = member();
        assertThat(UnitActions.describe(UnitActions.in(PhaseName.START, UnitActions.of(m, false, false, List.of()))))
                .isEqualTo("systemctl daemon-reload; systemctl start " + m.newUnit() + ", waiting for its start job");
    }

    @Test
    void inPlaceStopsTheOldMemberBeforeTheNewStarts() throws Exception {
        MemberPlan m = member();
        List<String> lines = lines(UnitActions.of(m, true, false, List.of("10.0.0.1:2379", "10.0.0.1:2380")));
        assertThat(lines.get(0)).isEqualTo("stop-old: systemctl stop " + m.oldUnit()
                + " (it holds 10.0.0.1:2379, 10.0.0.1:2380; after every host is restored and configured)");
        assertThat(lines.get(1)).startsWith("start: ");
        assertThat(UnitActions.in(PhaseName.STOP_OLD, UnitActions.of(m, true, false, List.of()))).isEmpty();
    }
}
