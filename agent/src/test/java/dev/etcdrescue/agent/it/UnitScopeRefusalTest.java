package dev.etcdrescue.agent.it;

import static dev.etcdrescue.agent.testing.AgentFixture.header;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.proto.v1.ConfigureRequest;
import dev.etcdrescue.proto.v1.CutOverRequest;
import dev.etcdrescue.proto.v1.Member;
import dev.etcdrescue.proto.v1.MemberSpec;
import dev.etcdrescue.proto.v1.PreflightRequest;
import dev.etcdrescue.proto.v1.UnitRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A coordinator key reaches the units agent.yaml's {@code units:} allows and no other: sshd,
 * debug-shell or journald are refused before systemd is asked, and no unit file is written that
 * would shadow one the agent did not write.
 */
@Tag("etcd")
@Timeout(60)
class UnitScopeRefusalTest {
    private static final String OP = "op-units-1";
    @TempDir
    Path tmp;
    private AgentFixture agent;

    private AgentFixture start(String extraYaml) throws Exception {
        agent = AgentFixture.withConfig(tmp, "", extraYaml);
        agent.claim(OP);
        Files.createDirectories(agent.dataRoot.resolve("m0.etcd"));
        return agent;
    }

    @AfterEach
    void stop() {
        if (agent != null) {
            agent.close();
        }
    }

    @Test
    void unitsOutsideTheDefaultsAreRefusedNamingTheUnitAndTheKey() throws Exception {
        start("");
        refused(() -> agent.coordinator().startMember(unit("debug-shell")), "unit debug-shell.service");
        refused(() -> agent.coordinator().stopMember(unit("ssh")), "unit ssh.service");
        refused(() -> agent.coordinator().cutOver(CutOverRequest.newBuilder().setHeader(header(OP))
                .setNewUnit("etcd_new").setOldUnit("ssh").build()), "old_unit ssh.service");
        refused(() -> agent.coordinator().configureMember(configure("systemd-journald", "etcd")),
                "new_unit systemd-journald.service");
        refused(() -> agent.coordinator().configureMember(configure("etcd_new", "ssh")), "base_unit ssh.service");

        assertThat(agent.systemctl.calls()).isEmpty();
        assertThat(agent.unitDir.resolve("systemd-journald.service")).doesNotExist();
        assertThat(agent.envDir.resolve("systemd-journald")).doesNotExist();
    }

    @Test
    void aConfiguredListReplacesTheDefaultsAndTheBaseUnitIsAlwaysIn() throws Exception {
        start("units: [etcd-main]");
        refused(() -> agent.coordinator().stopMember(unit("etcd_new")), "unit etcd_new.service");
        agent.coordinator().stopMember(unit("etcd"));
        assertThat(agent.systemctl.calls()).contains("stop etcd");
    }

    @Test
    void aNewUnitThatWouldShadowAUnitTheAgentDidNotWriteIsRefused() throws Exception {
        start("");
        Files.writeString(agent.root.resolve("lib/systemd/system/etcd-shadowed.service"), "[Service]\nExecStart=/bin/true\n");
        Files.writeString(agent.unitDir.resolve("etcd-admins.service"), "[Service]\nExecStart=/bin/true\n");

        refused(() -> agent.coordinator().configureMember(configure("etcd-shadowed", "etcd")),
                "etcd-shadowed.service already exists as " + agent.root.resolve("lib/systemd/system"));
        refused(() -> agent.coordinator().configureMember(configure("etcd-admins", "etcd")),
                "etcd-admins.service already exists as " + agent.unitDir);
        assertThat(agent.envDir.resolve("etcd-shadowed")).doesNotExist();
        assertThat(agent.unitDir.resolve("etcd-admins.service")).hasContent("[Service]\nExecStart=/bin/true");

        var report = agent.coordinator().preflight(PreflightRequest.newBuilder().setHeader(header(OP))
                .setMember(member()).setNewUnit("etcd-admins").setBaseUnit("etcd").build());
        assertThat(report.getFindingsList()).anySatisfy(f -> assertThat(f.getCode()).isEqualTo("unit-would-shadow"));
        assertThat(report.getPlan().getCurrentUnitFileContent()).isEmpty();

        // Its own earlier output is replaced as before: the positive control.
        agent.coordinator().configureMember(configure("etcd_new", "etcd"));
        agent.coordinator().configureMember(configure("etcd_new", "etcd"));
        assertThat(agent.unitDir.resolve("etcd_new.service")).exists();
    }

    private static void refused(ThrowingCallable call, String message) {
        assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(Status.Code.FAILED_PRECONDITION);
            assertThat(e.getStatus().getDescription()).contains(message);
            if (!message.contains("already exists")) {
                assertThat(e.getStatus().getDescription()).contains("agent.yaml units:");
            }
        });
    }

    private static UnitRequest unit(String name) {
        return UnitRequest.newBuilder().setHeader(header(OP)).setUnit(name).build();
    }

    private ConfigureRequest configure(String newUnit, String baseUnit) {
        return ConfigureRequest.newBuilder().setHeader(header(OP)).setMember(member()).setNewUnit(newUnit)
                .setBaseUnit(baseUnit).build();
    }

    private MemberSpec member() {
        return MemberSpec.newBuilder().setName("m-0").addPeerUrls("http://127.0.0.1:22380")
                .addClientUrls("http://127.0.0.1:22379").setDataDir(agent.dataRoot.resolve("m0.etcd").toString())
                .setInitialClusterToken("tok").addInitialCluster(Member.newBuilder().setName("m-0")
                        .addPeerUrls("http://127.0.0.1:22380")).build();
    }
}
