package dev.etcdrescue.agent.systemd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.failpoint.Failpoints;
import dev.etcdrescue.agent.io.Cancellation;
import dev.etcdrescue.agent.io.ProcessRunner;
import dev.etcdrescue.agent.journal.OperationJournal;
import dev.etcdrescue.agent.spec.UnitScope;
import dev.etcdrescue.proto.v1.OperationHeader;
import dev.etcdrescue.proto.v1.UnitRequest;
import dev.etcdrescue.proto.v1.UnitState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * StartMember: how the agent answers each way a start job can end. systemctl here
 * is a script that plays systemd's part (its `start` runs the test's job and `show` prints the state
 * the job left); real systemd is exercised by the system tests.
 */
class BlockingStartTest {
    @TempDir
    Path dir;
    private final ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor();
    private UnitOperations units;

    @BeforeEach
    void fakeSystemd() throws IOException {
        Path systemctl = dir.resolve("systemctl");
        Files.writeString(systemctl, """
                #!/bin/sh
                here=$(dirname "$0")
                echo "$*" >> "$here/calls"
                case "$1" in
                  daemon-reload) exit 0 ;;
                  show) cat "$here/state" 2>/dev/null || printf 'LoadState=loaded\\nActiveState=inactive\\nSubState=dead\\n'; exit 0 ;;
                  start) . "$here/job" ;;
                esac
                """);
        Files.setPosixFilePermissions(systemctl, PosixFilePermissions.fromString("rwxr-xr-x"));
        units = new UnitOperations(new ProcessSystemctl(systemctl, new ProcessRunner(), Duration.ofSeconds(60)),
                new OperationJournal(dir.resolve("journal"), Clock.systemUTC()), Failpoints.none(),
                new UnitScope(UnitScope.DEFAULT, dir.resolve("units"), List.of()));
    }

    @AfterEach
    void stop() {
        later.shutdownNow();
    }

    private void job(String script) throws IOException {
        Files.writeString(dir.resolve("job"), script);
    }

    private static String state(String active, String sub) {
        return "printf 'LoadState=loaded\\nActiveState=" + active + "\\nSubState=" + sub + "\\n' > \"$here/state\"\n";
    }

    private static UnitRequest request() {
        return UnitRequest.newBuilder().setUnit("etcd_new").setHeader(OperationHeader.newBuilder()
                .setClusterName("c").setOperationId("op-1").setHostName("h")).build();
    }

    private Cancellation cancelledAfter(Duration after) {
        return stop -> {
            ScheduledFuture<?> fire = later.schedule(stop, after.toMillis(), TimeUnit.MILLISECONDS);
            return () -> fire.cancel(false);
        };
    }

    @Test
    void aJobThatSucceedsIsAnsweredWithTheActiveStateAfterOneBlockingStart() throws IOException {
        job("sleep 0.3\n" + state("active", "running") + "exit 0\n");

        UnitState s = units.start(request(), Cancellation.NONE);

        assertThat(s.getActiveState()).isEqualTo("active");
        assertThat(Files.readAllLines(dir.resolve("calls"))).containsSubsequence("daemon-reload", "start etcd_new.service")
                .noneMatch(c -> c.contains("--no-block"));
    }

    @Test
    void aJobThatFailsIsAnsweredAsFailedForTheCoordinatorToReport() throws IOException {
        job(state("failed", "failed") + "echo 'Job for etcd_new.service failed because the control process exited with error code.' >&2\nexit 1\n");

        UnitState s = units.start(request(), Cancellation.NONE);

        assertThat(s.getActiveState()).isEqualTo("failed");
        assertThat(s.getSubState()).isEqualTo("failed");
    }

    @Test
    void aJobThatFailedWhileTheUnitRestartsIsAnsweredAsActivating() throws IOException {
        job(state("activating", "auto-restart") + "echo 'Job for etcd_new.service failed.' >&2\nexit 1\n");

        assertThat(units.start(request(), Cancellation.NONE).getActiveState()).isEqualTo("activating");
    }

    @Test
    void aStartSystemctlRefusesIsAnErrorInItsWords() throws IOException {
        job("echo 'Unit etcd_new.service not found.' >&2\nexit 5\n");

        assertThatThrownBy(() -> units.start(request(), Cancellation.NONE)).isInstanceOf(AgentException.class)
                .hasMessageContaining("systemctl start etcd_new.service failed", "exited with 5", "Unit etcd_new.service not found.",
                        "journalctl -u etcd_new");
    }

    @Test
    void aWaitCutShortByTheCallerEndsSystemctlAndAnswersWithTheStateSoFar() throws IOException {
        job(state("activating", "start") + "exec sleep 60\n");

        long t0 = System.nanoTime();
        UnitState s = units.start(request(), cancelledAfter(Duration.ofMillis(500)));

        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("not the job's 60 s").isLessThan(Duration.ofSeconds(10));
        assertThat(s.getActiveState()).isEqualTo("activating");
    }
}
