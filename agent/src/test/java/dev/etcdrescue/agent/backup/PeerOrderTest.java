package dev.etcdrescue.agent.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class PeerOrderTest {
    private static LocalEtcdctl.MemberState member(String id, boolean answers, String peerUrl) {
        return new LocalEtcdctl.MemberState(id, "m" + id, List.of(peerUrl), List.of(), answers, false);
    }

    @Test
    void copiesGoToTheAnsweringPeersFirstStartingAfterThisMemberSoTheyspreadOverTheCluster() {
        List<LocalEtcdctl.MemberState> members = List.of(member("1", true, "http://10.0.0.1:2380"),
                member("2", true, "http://10.0.0.2:2380"), member("3", false, "http://10.0.0.3:2380"),
                member("4", true, "https://etcd-4.example:2380"));

        assertThat(PeerCopies.order(new LocalEtcdctl.ClusterView("2", "c", "3.5.16", members)))
                .extracting(LocalEtcdctl.MemberState::id).containsExactly("4", "1", "3");
        assertThat(PeerCopies.order(new LocalEtcdctl.ClusterView("4", "c", "3.5.16", members)))
                .extracting(LocalEtcdctl.MemberState::id).containsExactly("1", "2", "3");
    }

    @Test
    void aPeersAgentIsOnItsPeerUrlsHostAtThisAgentsPort() {
        PeerCopies copies = new PeerCopies(null, null, "h", 1, 7443, null, null, Optional.empty());
        assertThat(copies.endpoint(member("1", true, "https://etcd-4.example:2380"))).contains("etcd-4.example:7443");
        assertThat(copies.endpoint(member("1", true, "http://[fd00::1]:2380"))).contains("[fd00::1]:7443");
        assertThat(copies.endpoint(new LocalEtcdctl.MemberState("9", "", List.of(), List.of(), false, false))).isEmpty();
    }
}
