package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.proto.v1.RestoreTool;
import dev.etcdrescue.proto.v1.ToolInfo;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which hosts read etcd's snapshot status of the distributed file (DistributePhase.readsStatus). */
class StatusReadersTest {
    private static final ToolInfo ETCDCTL_34 = tool(RestoreTool.ETCDCTL, "3.4.23");
    private static final ToolInfo ETCDUTL_35 = tool(RestoreTool.ETCDUTL, "3.5.16");
    private static final List<String> HOSTS = List.of("a", "b", "c", "d", "e");

    @Test
    void theFirstHostOfEachToolReadsItTheOthersDoNot() {
        Map<String, ToolInfo> tools = Map.of("a", ETCDCTL_34, "b", ETCDCTL_34, "c", ETCDUTL_35, "d", ETCDCTL_34,
                "e", ETCDUTL_35);
        assertThat(HOSTS.stream().filter(h -> DistributePhase.readsStatus(HOSTS, tools, h))).containsExactly("a", "c");
    }

    @Test
    void anotherVersionOfTheSameToolIsAnotherTool() {
        Map<String, ToolInfo> tools = Map.of("a", ETCDCTL_34, "b", tool(RestoreTool.ETCDCTL, "3.4.30"), "c", ETCDCTL_34,
                "d", ETCDCTL_34, "e", ETCDCTL_34);
        assertThat(HOSTS.stream().filter(h -> DistributePhase.readsStatus(HOSTS, tools, h))).containsExactly("a", "b");
    }

    @Test
    void aHostWhoseToolIsNotKnownReadsIt() {
        Map<String, ToolInfo> tools = Map.of("a", ETCDCTL_34, "c", ETCDCTL_34);
        assertThat(HOSTS.stream().filter(h -> DistributePhase.readsStatus(HOSTS, tools, h)))
                .containsExactly("a", "b", "d", "e");
    }

    private static ToolInfo tool(RestoreTool kind, String version) {
        return ToolInfo.newBuilder().setKind(kind).setVersion(version).setPath("/usr/bin/" + kind.name().toLowerCase()).build();
    }
}
