package dev.etcdrescue.agent.systemd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.io.Cancellation;
import dev.etcdrescue.agent.io.ProcessRunner;
import dev.etcdrescue.proto.v1.UnitState;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ProcessSystemctlTest {
    @Test
    void parsesSystemctlShowOutput() {
        UnitState state = ProcessSystemctl.parseShow("etcd.service", """
                MainPID=1234
                ActiveState=active
                SubState=running
                UnitFileState=enabled
                ActiveEnterTimestampMonotonic=5566778899
                LoadState=loaded
                """);

        assertThat(state.getExists()).isTrue();
        assertThat(state.getMainPid()).isEqualTo(1234);
        assertThat(state.getActiveEnterTimestampUs()).isEqualTo(5566778899L);
        assertThat(Systemctl.isActive(state)).isTrue();
        assertThat(Systemctl.isEnabled(state)).isTrue();
        assertThat(ProcessSystemctl.parseShow("nope.service", "LoadState=not-found\nActiveState=inactive\n").getExists())
                .isFalse();
    }

    @Test
    void unitNamesAreCheckedBeforeAnythingRuns() {
        ProcessSystemctl systemctl = new ProcessSystemctl(Path.of("/nonexistent/systemctl"), new ProcessRunner(),
                Duration.ofSeconds(5));

        for (String unit : new String[] {"etcd;reboot", "--now", "../x", "a b", ""}) {
            assertThatThrownBy(() -> systemctl.startAndWait(unit, Cancellation.NONE)).isInstanceOf(AgentException.class)
                    .hasMessageStartingWith("unit must be a unit name");
        }
    }

    @Test
    void aFailingSystemctlIsFailedPreconditionWithItsMessage() {
        ProcessSystemctl systemctl = new ProcessSystemctl(Path.of("/bin/false"), new ProcessRunner(), Duration.ofSeconds(5));

        assertThatThrownBy(() -> systemctl.stop("etcd")).isInstanceOf(AgentException.class)
                .hasMessageContaining("systemctl stop etcd.service failed", "exited with 1");
    }
}
