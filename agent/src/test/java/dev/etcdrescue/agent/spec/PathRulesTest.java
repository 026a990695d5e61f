package dev.etcdrescue.agent.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.AgentException;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PathRulesTest {
    private final PathRules rules = new PathRules(List.of(Path.of("/var/lib/etcd")));

    @Test
    void acceptsAPathInsideARoot() {
        assertThat(rules.requireInside("/var/lib/etcd/new.etcd", "member.data_dir")).isEqualTo(Path.of("/var/lib/etcd/new.etcd"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"/var/lib/etcd/../../etc/shadow", "/var/lib/etcd/./new", "var/lib/etcd/new",
            "/var/lib/etcd//new", "/var/lib/etcd/new/", "/var/lib/etcd/new etcd", "/var/lib/etcd/$HOME",
            "/var/lib/etcd/new\n", ""})
    void refusesMalformedPaths(String path) {
        assertThatThrownBy(() -> rules.requireInside(path, "member.data_dir"))
                .isInstanceOfSatisfying(AgentException.class, e -> {
                    assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getMessage()).contains("member.data_dir");
                });
    }

    @ParameterizedTest
    @ValueSource(strings = {"/var/lib/etcd", "/var/lib/etcdx/new", "/etc/new.etcd", "/var/lib"})
    void refusesPathsOutsideTheRoots(String path) {
        assertThatThrownBy(() -> rules.requireInside(path, "member.data_dir"))
                .isInstanceOfSatisfying(AgentException.class, e -> {
                    assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getMessage()).contains("outside the allowed roots");
                });
    }

    @Test
    void refusesASymlinkLeadingOutOfTheRoot(@TempDir Path tmp) throws Exception {
        Path root = Files.createDirectories(tmp.resolve("root"));
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        Files.createSymbolicLink(root.resolve("link"), outside);
        PathRules linked = new PathRules(List.of(root));

        assertThatThrownBy(() -> linked.requireInside(root.resolve("link/new.etcd").toString(), "member.data_dir"))
                .isInstanceOf(AgentException.class).hasMessageContaining("symbolic link");
    }
}
