package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.systemtest.testbed.PacketFilter;
import dev.etcdrescue.systemtest.testbed.TestHost;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Real packet-level network faults while a recovery runs, injected with nftables ({@link PacketFilter}: a
 * table of this test's own whose rules match only this testbed's 127.x addresses and ports, removed after
 * each scenario and with the table at the end, also when a scenario fails). Three hosts, etcd 3.4, one
 * testbed for the class ({@link NetworkFaultsBase}); each scenario recovers into its own unit, data dir and ports. For each fault: a
 * clear error naming the host within a stated time, nothing the recovery must not touch changed, and
 * {@code resume} or {@code rollback} completing once the network is back. {@link FaultsTest} keeps the
 * user-space stand-ins (SIGSTOP, a silent proxy); these drop real packets in the kernel. The faults in the middle of
 * a phase (the snapshot, one agent's transfer, the coordinator cut off in restore, configure or start) are in
 * {@link NetworkFaultsMidRunTest}, on a testbed of its own.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class NetworkFaultsTest extends NetworkFaultsBase {
    /** The receiving agent pauses once at half of its first upload, so the link is cut with the transfer under way. */
    private static final String MIDWAY_HOLD = "transfer.midway=1*sleep(8s)";

    @Override
    protected String hostPrefix() {
        return "netf";
    }

    @Override
    protected void beforeAgentsStart() {
        AgentFailpoints.writeDropIn(testbed.host(0), MIDWAY_HOLD);
    }

    /**
     * An agent whose SYNs are dropped (a firewall, a host gone without a reset): preflight names it
     * within the coordinator's connect timeout (5 s) instead of waiting for the call's 30 s deadline,
     * and nothing on any host changed.
     */
    @Test
    @Order(1)
    void synDroppedToOneAgentFailsPreflightNamingItWithinTheConnectTimeout() throws Exception {
        Target t = Target.of("a", 22_000);
        TestHost silent = testbed.host(1);
        var before = untouchable(List.of(testbed.host(0), testbed.host(1)));
        PacketFilter.Rule syn = filter.dropSyn(silent.address(), AGENT_PORT);
        long t0 = System.nanoTime();
        Cli.Result r;
        Background run;
        try {
            // Timed from the preflight phase's first line: the coordinator JVM's start is not the network's doing.
            run = Background.start(Pattern.compile("^PHASE \\[preflight\\]"), () -> { }, recover(t, Inventories.fromFile(backup)));
            r = run.await();
            assertThat(filter.packets(syn)).as("SYNs were dropped").isPositive();
        } finally {
            filter.remove(syn);
        }
        long took = (System.nanoTime() - t0) / 1_000_000;
        long named = run.millisFromActionTo(Pattern.compile(Pattern.quote(silent.name()) + ".*unreachable"));
        System.out.printf("SYN to %s:%d dropped: preflight named the host %d ms into the phase; the command took %d ms%n",
                silent.address(), AGENT_PORT, named, took);
        assertThat(r.exitCode()).as(r.all()).isEqualTo(3);
        assertThat(r.stdout()).contains("preflight failed on 1 of 3 hosts").contains(silent.name()).contains("unreachable");
        assertThat(named).as("the 5 s connect timeout, not the 30 s call deadline").isLessThan(15_000);
        assertNothingOfTarget(t);
        assertThat(untouchable(List.of(testbed.host(0), testbed.host(1)))).isEqualTo(before);
    }

    /**
     * The link between the source agent (the survivor's, which sends its snapshot to the two others) and
     * one receiving agent cut as that transfer starts (the receiver held at half of the file), both ways, while the coordinator still
     * reaches both: the hop fails naming the receiver; either the coordinator sends that host the
     * snapshot itself and the recovery completes, or the run ends with nothing outside staging changed
     * and rollback completes. No data dir, env file or unit of the attempt is left half-written.
     */
    @Test
    @Order(2)
    void theLinkBetweenTwoAgentsCutMidTransferNamesTheHopAndTheRunCompletesOrRollsBack() throws Exception {
        Target t = Target.of("d", 23_000);
        TestHost source = testbed.host(2);
        TestHost receiver = testbed.host(0);
        clearStaging();
        var before = untouchable(List.of(testbed.host(0), testbed.host(1)));
        List<PacketFilter.Rule> cut = new ArrayList<>();
        Cli.Result first;
        Background run;
        try {
            // As the source starts sending: the receiver's kernel buffers take a 6 MB snapshot's second half whole while
            // it pauses at the first (the failpoint), so a cut at half time would come after the last byte left the source.
            run = Background.start(Pattern.compile(source.name() + " sends the snapshot to"), () -> {
                // The agents' ports only: the new etcd members of these two hosts must still reach each other later.
                cut.addAll(filter.cutLink(cgroup(source), source.address(), cgroup(receiver), receiver.address(), AGENT_PORT, AGENT_PORT + 1));
            }, recover(t, Inventories.fromEndpoints(List.of(source)), "--chunk-size", "65536"));
            first = run.await();
            assertThat(filter.packets(cut)).as("the cut met the transfer's packets").isPositive();
        } finally {
            filter.remove(cut);
        }
        Cli.Result rolledBack = null;
        try {
            Pattern hop = Pattern.compile("receiving from " + source.name() + " failed at " + receiver.name());
            assertThat(first.stdout()).as("the failed hop, named").containsPattern(hop);
            long detected = run.millisFromActionTo(hop);
            System.out.printf("link %s <-> %s cut mid-transfer: the hop named failed %d ms after the cut, run ended (exit %d) %d ms after it%n",
                    source.name(), receiver.name(), detected, first.exitCode(), run.millisFromActionToEnd());
            assertThat(detected).as("the data channel's 60 s idle limit (or RelaySnapshot's keepalive, 20 s + 10 s) ends the hop's stream")
                    .isLessThan(Duration.ofMinutes(3).toMillis());
            if (first.exitCode() == 0) {
                assertRecovered(t, first);
                return;
            }
            assertThat(first.exitCode()).as(first.all()).isEqualTo(1);
            assertThat(first.stdout()).contains("Nothing outside the agents' staging dirs was changed");
            assertNothingOfTarget(t);
            assertThat(untouchable(List.of(testbed.host(0), testbed.host(1)))).isEqualTo(before);
        } finally {
            if (first.exitCode() != 0) {
                // Whatever failed above, the next scenarios need these agents unclaimed.
                rolledBack = Cli.etcdRescue("rollback", runDir(t).toString(), "--yes");
            }
        }
        assertThat(rolledBack.exitCode()).as(rolledBack.all()).isZero();
        assertNothingOfTarget(t);
        assertThat(untouchable(List.of(testbed.host(0), testbed.host(1)))).isEqualTo(before);
    }

    /**
     * One new member's peer port dropped while the members start: that member can never join, the run
     * fails naming its host. Then the coordinator is killed (a failpoint: JVM halt, as SIGKILL) after the
     * first host of the rollback, and a second {@code rollback} completes: every env file, unit and stopped
     * data dir is as before the run, what the run created is moved aside.
     */
    @Test
    @Order(3)
    void aNewMembersPeerPortDroppedFailsTheRunNamingItAndARollbackKilledMidwayCompletesWhenRunAgain() throws Exception {
        stopTheSurvivor();
        Target t = Target.of("c", 25_000);
        TestHost isolated = testbed.host(0);
        clearStaging();
        var before = untouchable(testbed.hosts());
        List<PacketFilter.Rule> cut = new ArrayList<>();
        Cli.Result first;
        Background run;
        try {
            // Peers dial from 127.0.0.1: the member's own dials out are told by its host's cgroup.
            run = Background.start(Pattern.compile("^PHASE \\[start\\]"), () -> {
                cut.addAll(filter.cut(isolated.address(), t.peerPort()));
                cut.add(filter.dropSentBy(cgroup(isolated), t.peerPort()));
            },
                    recover(t, Inventories.fromFile(backup), "--start-timeout", "45"));
            first = run.await();
            assertThat(filter.packets(cut)).as("the cut met the members' peer traffic").isPositive();
        } finally {
            filter.remove(cut);
        }
        assertThat(first.exitCode()).as(first.all()).isNotZero();
        assertThat(first.stdout()).containsPattern("(?i)(start|verify) failed").contains(isolated.name())
                .contains("etcd-rescue rollback " + runDir(t));
        long detected = run.millisFromActionTo(Pattern.compile("^failed:.*" + isolated.name()));
        System.out.printf("peer port %s:%d dropped in start: named %d ms after the cut, run ended %d ms after it%n",
                isolated.address(), t.peerPort(), detected, run.millisFromActionToEnd());

        Cli.Result killed = Cli.etcdRescueWith(Map.of("ETCD_RESCUE_COORDINATOR_FAILPOINTS", "rollback.afterHost=1*kill"),
                "rollback", runDir(t).toString(), "--yes");
        assertThat(killed.exitCode()).as(killed.all()).isEqualTo(137);
        assertThat(killed.stderr()).contains("failpoint rollback.afterHost: killing the coordinator");
        assertThat(killed.stdout()).doesNotContain("rolled back on");

        long t0 = System.nanoTime();
        Cli.Result again = Cli.etcdRescue("rollback", runDir(t).toString(), "--yes");
        System.out.printf("rollback run again after the coordinator was killed in it: %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        assertThat(again.exitCode()).as(again.all()).isZero();
        for (TestHost h : testbed.hosts()) {
            assertThat(h.unitState(t.unit())).as("%s on %s", t.unit(), h.name()).isNotIn("active", "activating");
        }
        assertNothingOfTarget(t);
        assertSameApartFromSetAside(before, untouchable(testbed.hosts()), t);
    }
}
