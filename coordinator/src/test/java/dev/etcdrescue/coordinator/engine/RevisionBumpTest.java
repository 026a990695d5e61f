package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.proto.v1.RestoreTool;
import dev.etcdrescue.proto.v1.ToolInfo;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** One bump for the whole cluster, from every host's restore tool. */
@Timeout(30)
class RevisionBumpTest {
    private static final ToolInfo ETCDUTL_35 = ToolInfo.newBuilder().setKind(RestoreTool.ETCDUTL).setVersion("3.5.16")
            .setSupportsBumpRevision(true).setSupportsMarkCompacted(true).build();
    private static final ToolInfo ETCDCTL_34 = ToolInfo.newBuilder().setKind(RestoreTool.ETCDCTL).setVersion("3.4.23").build();

    private static Map<String, ToolInfo> tools(ToolInfo... byHost) {
        Map<String, ToolInfo> tools = new LinkedHashMap<>();
        for (int i = 0; i < byHost.length; i++) {
            tools.put("beta-" + i, byHost[i]);
        }
        return tools;
    }

    @Test
    void autoBumpsByTheDefaultWhereEveryToolCan() {
        RevisionBump.Decision d = RevisionBump.decide(RecoveryOptions.BUMP_AUTO, tools(ETCDUTL_35, ETCDUTL_35, ETCDUTL_35));
        assertThat(d.bump()).isEqualTo(RecoveryOptions.DEFAULT_BUMP);
        assertThat(d.refused()).isFalse();
        assertThat(d.why()).startsWith("+" + RecoveryOptions.DEFAULT_BUMP + " with --mark-compacted");
    }

    @Test
    void autoWithOneToolWithoutBumpGivesNoBumpForTheWholeCluster() {
        RevisionBump.Decision d = RevisionBump.decide(RecoveryOptions.BUMP_AUTO, tools(ETCDUTL_35, ETCDCTL_34, ETCDUTL_35));
        assertThat(d.bump()).as("the hosts that could bump do not either").isZero();
        assertThat(d.refused()).isFalse();
        assertThat(d.why()).contains("beta-1 (etcdctl 3.4.23)").doesNotContain("beta-0").doesNotContain("beta-2");
    }

    @Test
    void anExplicitBumpIsRefusedWhenOneToolLacksIt() {
        RevisionBump.Decision d = RevisionBump.decide(5000, tools(ETCDUTL_35, ETCDCTL_34, ETCDUTL_35));
        assertThat(d.refused()).isTrue();
        assertThat(d.bump()).isZero();
        assertThat(d.why()).contains("--bump-revision 5000 asked for").contains("beta-1 (etcdctl 3.4.23)")
                .contains("--bump-revision 0");
    }

    @Test
    void anExplicitBumpIsUsedWhereEveryToolCan() {
        RevisionBump.Decision d = RevisionBump.decide(5000, tools(ETCDUTL_35, ETCDUTL_35));
        assertThat(d.bump()).isEqualTo(5000);
        assertThat(d.refused()).isFalse();
    }

    @Test
    void zeroIsOffWhateverTheTools() {
        for (Map<String, ToolInfo> tools : java.util.List.of(tools(ETCDUTL_35), tools(ETCDCTL_34, ETCDUTL_35))) {
            RevisionBump.Decision d = RevisionBump.decide(0, tools);
            assertThat(d.bump()).isZero();
            assertThat(d.refused()).isFalse();
            assertThat(d.why()).startsWith("off");
        }
    }

    @Test
    void aToolWithBumpButWithoutMarkCompactedCannotBump() {
        ToolInfo half = ETCDUTL_35.toBuilder().setSupportsMarkCompacted(false).build();
        assertThat(RevisionBump.decide(RecoveryOptions.BUMP_AUTO, tools(ETCDUTL_35, half)).bump()).isZero();
        assertThat(RevisionBump.decide(7, tools(ETCDUTL_35, half)).refused()).isTrue();
    }
}
