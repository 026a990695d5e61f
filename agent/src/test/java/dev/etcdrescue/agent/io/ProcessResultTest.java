package dev.etcdrescue.agent.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProcessResultTest {
    @Test
    void theToolsErrorLineComesBeforeItsJsonLogLines() {
        String stderr = "{\"level\":\"info\",\"msg\":\"restoring snapshot\",\"path\":\"/s.db\"}\n"
                + "Error: write /var/lib/etcd/new/member/snap/db: no space left on device\n";
        ProcessResult r = new ProcessResult(List.of("/usr/bin/etcdctl", "snapshot", "restore", "/s.db"), 1, "", stderr, false, Duration.ofSeconds(1));
        assertThat(r.failureSummary()).isEqualTo("/usr/bin/etcdctl snapshot restore exited with 1: "
                + "Error: write /var/lib/etcd/new/member/snap/db: no space left on device"
                + " | {\"level\":\"info\",\"msg\":\"restoring snapshot\",\"path\":\"/s.db\"}");
    }

    @Test
    void withoutAnErrorLineTheTailKeepsItsOrder() {
        ProcessResult r = new ProcessResult(List.of("systemctl", "start", "x"), 3, "", "first\nsecond\n", false, Duration.ofSeconds(1));
        assertThat(r.failureSummary()).isEqualTo("systemctl start x exited with 3: first | second");
    }
}
