package dev.etcdrescue.agent.systemd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.agent.failpoint.Failpoints;
import dev.etcdrescue.agent.io.ProcessRunner;
import dev.etcdrescue.agent.journal.OperationJournal;
import dev.etcdrescue.agent.spec.UnitScope;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.UnitRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** StopMember with {@code disable} (replace-member's fence): the unit stopped, then disabled and journaled; without it, only stopped. */
@Timeout(30)
class StopAndDisableTest {
    @TempDir
    Path dir;
    private UnitOperations units;
    private OperationJournal journal;

    @BeforeEach
    void fakeSystemd() throws IOException {
        Path systemctl = dir.resolve("systemctl");
        Files.writeString(systemctl, """
                #!/bin/sh
                here=$(dirname "$0")
                echo "$*" >> "$here/calls"
                case "$1" in
                  show) if [ -e "$here/disabled" ]; then f=disabled; else f=enabled; fi
                        printf 'LoadState=loaded\\nActiveState=failed\\nSubState=failed\\nUnitFileState=%s\\n' "$f"; exit 0 ;;
                  disable) touch "$here/disabled"; exit 0 ;;
                  *) exit 0 ;;
                esac
                """);
        Files.setPosixFilePermissions(systemctl, PosixFilePermissions.fromString("rwxr-xr-x"));
        journal = new OperationJournal(dir.resolve("journal"), Clock.systemUTC());
        units = new UnitOperations(new ProcessSystemctl(systemctl, new ProcessRunner(), Duration.ofSeconds(60)), journal, Failpoints.none(),
                new UnitScope(UnitScope.DEFAULT, dir.resolve("units"), List.of()));
    }

    private static UnitRequest request(boolean disable) {
        return UnitRequest.newBuilder().setUnit("etcd").setDisable(disable).setHeader(OperationHeader.newBuilder()
                .setClusterName("c").setOperationId("op-1").setHostName("h")).build();
    }

    @Test
    void disableAlsoDisablesTheUnitAndJournalsIt() throws IOException {
        var state = units.stop(request(true));

        assertThat(Files.readAllLines(dir.resolve("calls"))).anyMatch(l -> l.startsWith("stop etcd")).anyMatch(l -> l.startsWith("disable etcd"));
        assertThat(state.getUnitFileState()).isEqualTo("disabled");
        assertThat(Files.readString(dir.resolve("journal").resolve("op-1.jsonl"))).contains("UNIT_DISABLED");
    }

    @Test
    void withoutDisableTheUnitStaysEnabled() throws IOException {
        var state = units.stop(request(false));

        assertThat(Files.readAllLines(dir.resolve("calls"))).anyMatch(l -> l.startsWith("stop etcd")).noneMatch(l -> l.startsWith("disable"));
        assertThat(state.getUnitFileState()).isEqualTo("enabled");
    }
}
