package dev.etcdrescue.agent.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.AgentException;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(10)
class UnitScopeTest {
    @TempDir
    Path tmp;

    private UnitScope scope(List<String> patterns) {
        return new UnitScope(patterns, tmp.resolve("etc"), List.of(tmp.resolve("lib")));
    }

    @Test
    void theDefaultsAllowEtcdAndItsCopiesOnly() {
        UnitScope scope = scope(UnitScope.DEFAULT);
        assertThat(List.of("etcd", "etcd_new", "etcd-member", "etcd_new.service"))
                .allSatisfy(unit -> assertThat(scope.managed(unit, "unit")).startsWith("etcd"));
        for (String unit : List.of("ssh", "debug-shell", "systemd-journald", "etcd2", "etcdx", "my-etcd", "etcd@x")) {
            assertThatThrownBy(() -> scope.managed(unit, "unit")).isInstanceOfSatisfying(AgentException.class, e -> {
                assertThat(e.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                assertThat(e.field()).contains("unit");
                assertThat(e.getMessage()).contains("unit " + unit + ".service is not a unit this agent manages",
                        "agent.yaml units:", "[etcd, etcd_*, etcd-*]");
            });
        }
    }

    @Test
    void aGlobMatchesOnlyUnitNameCharactersAndAPlainNameOnlyItself() {
        UnitScope scope = scope(List.of("kube-etcd", "member@*"));
        assertThat(scope.allows("kube-etcd")).isTrue();
        assertThat(scope.allows("kube-etcd2")).isFalse();
        assertThat(scope.allows("member@a.b-c_d")).isTrue();
        assertThat(scope.allows("member")).isFalse();
        assertThat(scope.allows("etcd")).isFalse();
    }

    @Test
    void aUnitFileTheAgentDidNotWriteIsNeverShadowed() throws Exception {
        UnitScope scope = scope(UnitScope.DEFAULT);
        Files.createDirectories(tmp.resolve("lib"));
        Files.createDirectories(tmp.resolve("etc"));
        Files.writeString(tmp.resolve("lib/etcd-pkg.service"), "[Service]\nExecStart=/usr/bin/etcd\n");
        Files.writeString(tmp.resolve("etc/etcd-admin.service"), "[Service]\nExecStart=/usr/bin/etcd\n");
        Files.writeString(tmp.resolve("etc/etcd_new.service"), UnitScope.MARKER + " for operation op-1 from x\n");
        Files.createSymbolicLink(tmp.resolve("etc/etcd-masked.service"), Path.of("/dev/null"));

        for (String unit : List.of("etcd-pkg", "etcd-admin", "etcd-masked")) {
            assertThatThrownBy(() -> scope.requireNotShadowing(unit, "new_unit"))
                    .isInstanceOfSatisfying(AgentException.class, e -> assertThat(e.getMessage())
                            .contains("new_unit " + unit + ".service already exists as", "which etcd-rescue did not write"));
        }
        assertThatCode(() -> scope.requireNotShadowing("etcd_new", "new_unit")).doesNotThrowAnyException();
        assertThatCode(() -> scope.requireNotShadowing("etcd_other", "new_unit")).doesNotThrowAnyException();
    }

    @Test
    void theAgentsOwnFileElsewhereThanUnitDirStillCountsAsForeign() throws Exception {
        Files.createDirectories(tmp.resolve("lib"));
        Files.writeString(tmp.resolve("lib/etcd_copy.service"), UnitScope.MARKER + " for operation op-1\n");
        assertThatThrownBy(() -> scope(UnitScope.DEFAULT).requireNotShadowing("etcd_copy", "new_unit"))
                .isInstanceOf(AgentException.class);
    }
}
