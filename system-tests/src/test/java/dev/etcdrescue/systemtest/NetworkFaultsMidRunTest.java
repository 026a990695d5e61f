package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.systemtest.testbed.PacketFilter;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real packet drops (nftables, {@link PacketFilter}) in the middle of a phase, on a testbed of its own
 * ({@link NetworkFaultsBase}): the survivor's client port while the snapshot is taken (by its agent, the default, or
 * by the coordinator with jetcd), every packet to and from one receiving agent in the middle of its transfer, and the
 * coordinator cut off from every agent in restore,
 * configure and start. A transfer that loopback would end in milliseconds is slowed to about 1 MB/s by a rate
 * limit on the port it uses, and the cut comes once the receiving side's file has grown past 1 MiB: the fault
 * lands with the bytes under way, not before they start. For each: the run ends with an error naming the host
 * within the time the test states, nothing outside staging changed (or only what resume goes on from), no partial
 * file staged as a snapshot, and {@code resume} completes once the packets flow again.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 12, unit = TimeUnit.MINUTES)
class NetworkFaultsMidRunTest extends NetworkFaultsBase {
    /** About 1 MB/s: the 6.3 MB snapshot takes about 6 s to pass, time enough to cut it at a known point. */
    private static final int SLOW_KBYTES_PER_SECOND = 1024;
    private static final long GROWN = 1 << 20;
    /**
     * For the scenarios that take the snapshot from the survivor: a cut-over would stop its old member, and restarted
     * alone (without a quorum) it would serve no client, so the next such scenario would find no source.
     */
    private static final String KEEP_THE_SURVIVOR = "--keep-old";

    @Override
    protected String hostPrefix() {
        return "netm";
    }

    /**
     * Until a file below {@code root} (at most {@code depth} levels down) whose name starts with {@code prefix} and ends
     * with {@code .part} holds {@link #GROWN} bytes; its size then. Runs on the thread that reads the command's output.
     */
    private static long partGrown(Path root, int depth, String prefix) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.isDirectory(root)) {
                try (Stream<Path> files = Files.find(root, depth, (p, a) -> a.isRegularFile()
                        && p.getFileName().toString().startsWith(prefix) && p.getFileName().toString().endsWith(".part"))) {
                    long size = files.mapToLong(NetworkFaultsMidRunTest::sizeOrZero).max().orElse(0);
                    if (size >= GROWN) {
                        return size;
                    }
                } catch (IOException | UncheckedIOException e) {
                    // A file renamed or removed while listed: look again.
                }
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
        throw new IllegalStateException("no " + prefix + "*.part of " + GROWN + " bytes below " + root + " within 60 s");
    }

    private static long sizeOrZero(Path p) {
        try {
            return Files.size(p);
        } catch (IOException gone) {
            return 0;
        }
    }

    /** No snapshot staged on {@code h}: neither a verified {@code .db} nor the agent's temporary local snapshot. */
    private void assertNothingStaged(TestHost h) throws IOException {
        assertThat(staged(h)).as("staging on %s", h.name()).noneMatch(n -> n.endsWith(".db") || n.startsWith("local-snapshot-"));
    }

    /**
     * The survivor's client port dropped, both ways, while the snapshot is taken with about a fifth of it written. By
     * default ({@code auto}) the survivor's agent takes it (etcdctl snapshot save against its own member): etcdctl's
     * keepalive ends its stream, and the coordinator's fallback (it would take the snapshot itself with jetcd) cannot
     * connect either. With {@code --distribution streamed} the coordinator takes it with jetcd, whose keepalive ends the
     * stream. Either way the run ends naming the host and the member, nothing is changed or staged as a snapshot on any
     * host, and {@code resume} completes once the port answers again.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"auto", "streamed"})
    @Order(1)
    void theSurvivorsClientPortDroppedWhileTheSnapshotIsTakenNamesTheHostAndResumeCompletes(String distribution) throws Exception {
        boolean byAgent = distribution.equals("auto");
        Target t = byAgent ? Target.of("s", 28_000) : Target.of("j", 30_000);
        TestHost survivor = testbed.host(2);
        clearStaging();
        var before = untouchable(List.of(testbed.host(0), testbed.host(1)));
        List<PacketFilter.Rule> slow = new ArrayList<>(filter.throttle(survivor.address(), OLD_CLIENT_PORT, SLOW_KBYTES_PER_SECOND));
        List<PacketFilter.Rule> cut = new ArrayList<>();
        long[] cutAt = {0};
        long[] partAtCut = {0};
        Cli.Result first;
        Background run;
        try {
            run = Background.start(Pattern.compile("^PHASE \\[snapshot\\]"), () -> {
                // The agent's etcdctl writes local-snapshot-<uuid>.db.part in its staging dir, the coordinator snapshot.db.part in its run dir.
                partAtCut[0] = byAgent ? partGrown(survivor.hostPath(STAGING), 1, "local-snapshot-")
                        : partGrown(work.resolve("runs-" + t.cluster()), 2, "snapshot.db");
                cut.addAll(filter.cut(survivor.address(), OLD_CLIENT_PORT));
                cutAt[0] = System.nanoTime();
            }, recover(t, Inventories.fromEndpoints(List.of(survivor)), "--distribution", distribution, KEEP_THE_SURVIVOR));
            first = run.await();
            assertThat(filter.packets(cut)).as("the cut met the snapshot's packets").isPositive();
        } finally {
            filter.remove(cut);
            filter.remove(slow);
        }
        assertThat(first.exitCode()).as(first.all()).isEqualTo(1);
        assertThat(first.stdout()).contains("[" + survivor.name() + "] no snapshot of the member at " + Testbed.oldClientUrl(survivor))
                .contains("Nothing was changed on any host").contains("etcd-rescue resume " + runDir(t)).doesNotContain("\tat ");
        if (byAgent) {
            assertThat(first.stdout()).contains("the agent could not take it (").contains("nor could the coordinator (");
        }
        long named = run.millisFrom(cutAt[0], Pattern.compile(Pattern.quote("[" + survivor.name() + "] no snapshot of the member")));
        String agentGaveUp = byAgent ? String.format(" the agent gave up %d ms after the cut,",
                run.millisFrom(cutAt[0], Pattern.compile("the agent could not take the snapshot"))) : "";
        System.out.printf("client port %s:%d dropped with %d bytes of the snapshot written (%s):%s the run named the host %d ms after the"
                + " cut and ended %d ms after it%n", survivor.address(), OLD_CLIENT_PORT, partAtCut[0], distribution, agentGaveUp, named,
                run.millisFromToEnd(cutAt[0]));
        // etcdctl's keepalive (--keepalive-time 2s, --keepalive-timeout 6s) then the coordinator's 5 s connect check, or
        // jetcd's keepalive (30 s, then 10 s for the answer).
        assertThat(named).as("the run must not wait for the snapshot's 30 min timeout").isLessThan(90_000);
        assertNothingOfTarget(t);
        assertThat(untouchable(List.of(testbed.host(0), testbed.host(1)))).isEqualTo(before);
        for (TestHost h : testbed.hosts()) {
            assertNothingStaged(h);
        }

        long t0 = System.nanoTime();
        Cli.Result resumed = Cli.etcdRescue("resume", runDir(t).toString());
        System.out.printf("resume once the client port answered again (%s): %d ms%n", distribution, (System.nanoTime() - t0) / 1_000_000);
        assertRecovered(t, resumed);
    }

    /**
     * Every packet to and from one receiving agent's address (its control port, its data channel, any port) dropped
     * with about a fifth of the agent-to-agent transfer received. The source's hop to it ends on the data channel's idle
     * limit, the next round cannot reach it: the run ends naming it, nothing outside staging changed, the partial
     * file is not staged as a snapshot, and {@code resume} completes from the durable offset once the packets flow.
     */
    @Test
    @Order(2)
    void packetsToAndFromOneAgentDroppedMidTransferEndTheRunNamingItAndResumeCompletes() throws Exception {
        Target t = Target.of("t", 29_000);
        TestHost source = testbed.host(2);
        TestHost receiver = testbed.host(0);
        clearStaging();
        var before = untouchable(List.of(testbed.host(0), testbed.host(1)));
        // The source sends on the receiver's data channel (its agent port + 1); RelaySnapshot would use the agent port.
        List<PacketFilter.Rule> slow = new ArrayList<>(filter.throttle(receiver.address(), AGENT_PORT + 1, SLOW_KBYTES_PER_SECOND));
        slow.addAll(filter.throttle(receiver.address(), AGENT_PORT, SLOW_KBYTES_PER_SECOND));
        List<PacketFilter.Rule> cut = new ArrayList<>();
        long[] cutAt = {0};
        long[] partAtCut = {0};
        Cli.Result first;
        Background run;
        try {
            run = Background.start(Pattern.compile(source.name() + " sends the snapshot to"), () -> {
                partAtCut[0] = partGrown(receiver.hostPath(STAGING), 1, "");
                cut.addAll(filter.isolate(receiver.address()));
                cutAt[0] = System.nanoTime();
            }, recover(t, Inventories.fromEndpoints(List.of(source)), "--chunk-size", "65536", KEEP_THE_SURVIVOR));
            first = run.await();
            assertThat(filter.packets(cut)).as("the cut met the transfer's packets").isPositive();
        } finally {
            filter.remove(cut);
            filter.remove(slow);
        }
        Cli.Result resumed;
        try {
            assertThat(first.exitCode()).as(first.all()).isEqualTo(1);
            assertThat(first.stdout()).containsPattern("distribute failed on 1 of 3 hosts:\\s+" + receiver.name() + ": ")
                    .contains("Nothing outside the agents' staging dirs was changed").doesNotContain("\tat ");
            Pattern hop = Pattern.compile("receiving from " + source.name() + " failed at " + receiver.name());
            long hopFailed = run.millisFrom(cutAt[0], hop);
            long named = run.millisFrom(cutAt[0], Pattern.compile("distribute failed on 1 of 3 hosts"));
            System.out.printf("%s isolated with %d bytes received: the hop failed %d ms after the cut, the run named the host %d ms after"
                    + " it and ended %d ms after it%n", receiver.name(), partAtCut[0], hopFailed, named, run.millisFromToEnd(cutAt[0]));
            assertThat(hopFailed).as("the data channel's 60 s idle limit ends the hop").isLessThan(Duration.ofMinutes(2).toMillis());
            assertNothingOfTarget(t);
            assertThat(untouchable(List.of(testbed.host(0), testbed.host(1)))).isEqualTo(before);
            assertNothingStaged(receiver);
            assertThat(staged(receiver)).as("the partial file, kept for resume as .part only").anyMatch(n -> n.endsWith(".part"));
        } finally {
            long t0 = System.nanoTime();
            resumed = Cli.etcdRescue("resume", runDir(t).toString());
            System.out.printf("resume once the packets flowed again: %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        }
        long whole;
        try (Stream<Path> files = Files.list(source.hostPath(STAGING))) {
            whole = Files.size(files.filter(p -> p.getFileName().toString().endsWith(".db")).findFirst().orElseThrow());
        }
        var sent = Pattern.compile("received (\\d+) bytes from " + Pattern.quote(source.name())).matcher(resumed.all());
        assertThat(sent.find()).as("the receiver's delivery in:%n%s", resumed.all()).isTrue();
        assertThat(Long.parseLong(sent.group(1))).as("the receiver goes on from its durable offset").isLessThan(whole);
        assertRecovered(t, resumed);
    }

    /**
     * The coordinator cut off from every agent (all packets to and from each agent's port dropped) as a phase begins
     * that changes the hosts: the run ends with an error naming the hosts instead of hanging, the old data dirs are
     * untouched, and once the network is back {@code resume} completes the recovery with every key. In configure one
     * agent holds between the env file and the unit (a failpoint), so the cut finds a host half configured.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"restore", "configure", "start"})
    @Order(3)
    void theCoordinatorCutOffFromEveryAgentInAPhaseEndsTheRunAndResumeCompletes(String phase) throws Exception {
        stopTheSurvivor();
        Target t = switch (phase) {
            case "restore" -> Target.of("b", 24_000);
            case "configure" -> Target.of("e", 26_000);
            default -> Target.of("f", 27_000);
        };
        boolean hold = phase.equals("configure");
        if (hold) {
            AgentFailpoints.arm("configure.afterEnvFile=1*sleep(5s)", testbed.host(0));
        }
        clearStaging();
        List<PacketFilter.Rule> cut = new ArrayList<>();
        Cli.Result first;
        Background run;
        try {
            run = Background.start(Pattern.compile("^PHASE \\[" + phase + "\\]"), () -> {
                for (TestHost h : testbed.hosts()) {
                    cut.addAll(filter.cut(h.address(), AGENT_PORT));
                }
            }, recover(t, Inventories.fromFile(backup)));
            first = run.await();
            assertThat(filter.packets(cut)).as("the cut met the coordinator's packets").isPositive();
        } finally {
            filter.remove(cut);
            if (hold) {
                AgentFailpoints.forgetDropIn(testbed.host(0));
            }
        }
        assertThat(first.exitCode()).as(first.all()).isEqualTo(1);
        assertThat(first.stdout()).contains("failed on").containsPattern("(did not answer in time|Keepalive failed|unreachable)")
                .contains("etcd-rescue resume " + runDir(t));
        long detected = run.millisFromActionTo(Pattern.compile("^failed:\\s+\\["));
        System.out.printf("coordinator cut off from every agent in %s: first host failure line %d ms after the cut, run ended %d ms "
                + "after it%n", phase, detected, run.millisFromActionToEnd());
        assertThat(detected).as("the run must not hang on a partition").isLessThan(Duration.ofMinutes(2).toMillis());
        for (TestHost h : testbed.hosts()) {
            assertThat(h.hostPath("/var/lib/etcd/default/member/snap/db")).as("old data on %s", h.name()).exists();
        }

        long t0 = System.nanoTime();
        Cli.Result resumed = Cli.etcdRescue("resume", runDir(t).toString());
        System.out.printf("resume after the partition in %s healed: %d ms%n", phase, (System.nanoTime() - t0) / 1_000_000);
        assertRecovered(t, resumed);
    }
}
