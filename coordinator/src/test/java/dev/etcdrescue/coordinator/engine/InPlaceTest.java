package dev.etcdrescue.coordinator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.proto.v1.PortCheck;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which busy ports a restore in place accepts: only those the old member holds. */
class InPlaceTest {
    private static PortCheck port(int port, boolean free, boolean oldMember, long pid) {
        return PortCheck.newBuilder().setAddress("127.0.0.5").setPort(port).setFree(free).setHeldByOldMember(oldMember)
                .setHolderPid(pid).build();
    }

    @Test
    void portsTheOldMemberHoldsAreFreedOthersRefused() {
        InPlace.Ports p = InPlace.of(List.of(port(2380, false, true, 41), port(2379, false, true, 41), port(32379, true, false, 0),
                port(2381, false, false, 77), port(2379, false, true, 41)));
        assertThat(p.freed()).containsExactly("127.0.0.5:2380", "127.0.0.5:2379");
        assertThat(p.busy()).containsExactly("port 127.0.0.5:2381 is in use by pid 77: stop what listens there or choose other ports");
    }

    @Test
    void allFreeIsNotInPlace() {
        InPlace.Ports p = InPlace.of(List.of(port(22379, true, false, 0), port(22380, true, false, 0)));
        assertThat(p.freed()).isEmpty();
        assertThat(p.busy()).isEmpty();
    }
}
