package dev.etcdrescue.coordinator.member;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.member.ClusterView.EtcdMember;
import dev.etcdrescue.coordinator.member.ClusterView.HostRow;
import dev.etcdrescue.coordinator.member.ClusterView.Quorum;
import dev.etcdrescue.coordinator.report.RecoveryReport.Check;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** doctor's verdict and replace-member's checks, from hand-made views of a cluster. */
@Timeout(30)
class VerdictTest {
    private static final String INV = "inv.yaml";

    @Test
    void aHealthyClusterNeedsNothing() {
        Verdict v = Verdict.of(view(3, List.of(), List.of(), List.of()), INV);
        assertThat(v.kind()).isEqualTo(Verdict.Kind.HEALTHY);
        assertThat(v.command()).isNull();
    }

    @Test
    void oneMemberDownOfThreeIsReplaced() {
        Verdict v = Verdict.of(view(3, List.of("m2"), List.of(), List.of()), INV);
        assertThat(v.kind()).isEqualTo(Verdict.Kind.REPLACE_MEMBER);
        assertThat(v.member()).isEqualTo("m2");
        assertThat(v.command()).isEqualTo("etcd-rescue replace-member -i inv.yaml --limit c --member m2");
    }

    @Test
    void twoDownOfThreeIsRecover() {
        Verdict v = Verdict.of(view(3, List.of("m1", "m2"), List.of(), List.of()), INV);
        assertThat(v.kind()).isEqualTo(Verdict.Kind.RECOVER);
        assertThat(v.reason()).contains("quorum lost", "1 of 3");
        assertThat(v.command()).startsWith("etcd-rescue recover -i inv.yaml");
    }

    @Test
    void twoDownOfFiveIsReplacedOneAtATime() {
        Verdict v = Verdict.of(view(5, List.of("m3", "m4"), List.of(), List.of()), INV);
        assertThat(v.kind()).isEqualTo(Verdict.Kind.REPLACE_MEMBER);
        assertThat(v.member()).isEqualTo("m3");
        assertThat(v.reason()).contains("2 members down: replaced one at a time, in this order");
        assertThat(v.command()).endsWith("--member m3 --member m4");
    }

    @Test
    void aLearnerOrAnAlarmNeedsAPerson() {
        assertThat(Verdict.of(view(3, List.of(), List.of("m2"), List.of()), INV).kind()).isEqualTo(Verdict.Kind.ATTENTION);
        Verdict alarm = Verdict.of(view(3, List.of(), List.of(), List.of("NOSPACE on member 1")), INV);
        assertThat(alarm.kind()).isEqualTo(Verdict.Kind.ATTENTION);
        assertThat(alarm.reason()).contains("NOSPACE");
    }

    @Test
    void oneDownOfTwoIsNotReplaced() {
        Verdict v = Verdict.of(view(2, List.of("m1"), List.of(), List.of()), INV);
        assertThat(v.kind()).isIn(Verdict.Kind.RECOVER, Verdict.Kind.ATTENTION);
    }

    @Test
    void anInventoryMemberMissingFromTheListIsReplaced() {
        ClusterView full = view(3, List.of(), List.of(), List.of());
        ClusterView removed = new ClusterView("c", full.hosts(), full.members().subList(0, 2), full.memberListFrom(), List.of(), "m0",
                new Quorum(2, 2, 2, true), 5, 5);
        Verdict v = Verdict.of(removed, INV);
        assertThat(v.kind()).isEqualTo(Verdict.Kind.REPLACE_MEMBER);
        assertThat(v.member()).isEqualTo("m2");
    }

    @Test
    void replaceChecksPassForADeadMemberAndRefuseALiveOne() {
        ClusterView oneDown = view(3, List.of("m2"), List.of(), List.of());
        ReplaceChecks.Target target = new ReplaceChecks.Target(true, null, "3.4.23", 10L << 30, List.of());
        List<Check> ok = ReplaceChecks.check(oneDown, plan("m2"), false, target, false);
        assertThat(ok).allSatisfy(c -> assertThat(c.ok()).as(c.name() + ": " + c.detail()).isTrue());

        Map<String, Check> alive = byName(ReplaceChecks.check(view(3, List.of(), List.of(), List.of()), plan("m2"), true, target, false));
        assertThat(alive.get("member really dead").ok()).isFalse();

        Map<String, Check> wrongVersion = byName(ReplaceChecks.check(oneDown, plan("m2"), false,
                new ReplaceChecks.Target(true, null, "3.5.16", 10L << 30, List.of()), false));
        assertThat(wrongVersion.get("etcd version").ok()).isFalse();

        Map<String, Check> lowDisk = byName(ReplaceChecks.check(oneDown, plan("m2"), false,
                new ReplaceChecks.Target(true, null, "3.4.23", 1000, List.of()), false));
        assertThat(lowDisk.get("disk").ok()).isFalse();

        Map<String, Check> twoDown = byName(ReplaceChecks.check(view(3, List.of("m1", "m2"), List.of(), List.of()), plan("m2"), false,
                target, false));
        assertThat(twoDown.get("quorum now").ok()).isFalse();
        assertThat(twoDown.get("quorum after removal").ok()).isFalse();
    }

    @Test
    void replaceChecksOnAnotherHostRefuseATargetThatIsAlreadyAMember() {
        ClusterView oneDown = view(3, List.of("m2"), List.of(), List.of());
        ReplaceChecks.Target target = new ReplaceChecks.Target(true, null, "3.4.23", 10L << 30, List.of());
        Map<String, Check> spare = byName(ReplaceChecks.check(oneDown, plan("m2"), plan("m3"), false, target, false));
        assertThat(spare.values()).allSatisfy(c -> assertThat(c.ok()).as(c.name() + ": " + c.detail()).isTrue());
        assertThat(spare.get("target not a member").detail()).contains("h3");
        assertThat(spare.get("disk").detail()).contains("on h3");

        Map<String, Check> member = byName(ReplaceChecks.check(oneDown, plan("m2"), plan("m1"), false, target, false));
        assertThat(member.get("target not a member").ok()).isFalse();
        assertThat(member.get("target not a member").detail()).contains("h1 is already member m1");

        Map<String, Check> sameHost = byName(ReplaceChecks.check(oneDown, plan("m2"), false, target, false));
        assertThat(sameHost).doesNotContainKey("target not a member");
    }

    @Test
    void etcd35BeforeTheLearnerFixIsWarnedAbout() {
        assertThat(ReplaceChecks.promotionNotPersisted("3.5.16")).isTrue();
        assertThat(ReplaceChecks.promotionNotPersisted("3.5.1")).isTrue();
        assertThat(ReplaceChecks.promotionNotPersisted("3.5.0")).isFalse();
        assertThat(ReplaceChecks.promotionNotPersisted("3.5.20")).isFalse();
        assertThat(ReplaceChecks.promotionNotPersisted("3.4.23")).isFalse();
        assertThat(ReplaceChecks.promotionNotPersisted("3.6.0-rc.5")).isFalse();
    }

    @Test
    void stallTimeoutGrowsWithTheDb() {
        assertThat(MemberReplacement.scaledStall(0).toSeconds()).isEqualTo(60);
        assertThat(MemberReplacement.scaledStall(4L << 30).toSeconds()).isEqualTo(60 + 1024);
    }

    private static Map<String, Check> byName(List<Check> checks) {
        return checks.stream().collect(Collectors.toMap(Check::name, Function.identity()));
    }

    private static MemberPlan plan(String name) {
        int i = Integer.parseInt(name.substring(1));
        URI peer = URI.create("http://127.0.0." + (i + 1) + ":2380");
        URI client = URI.create("http://127.0.0." + (i + 1) + ":2379");
        return new MemberPlan("h" + i, name, "127.0.0." + (i + 1), "127.0.0." + (i + 1), 7443, List.of(peer), List.of(client), List.of(peer),
                List.of(client), "/var/lib/etcd/default", null, "etcd_new", "etcd", null, null);
    }

    /** {@code n} members m0..m(n-1) on h0..; {@code down} answer nothing; {@code learners} are learners. */
    private static ClusterView view(int n, List<String> down, List<String> learners, List<String> alarms) {
        List<HostRow> rows = new ArrayList<>();
        List<EtcdMember> members = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String name = "m" + i;
            boolean up = !down.contains(name);
            boolean learner = learners.contains(name);
            rows.add(new HostRow("h" + i, name, "http://127.0.0." + (i + 1) + ":2379", up, up ? null : "cannot connect", up ? "3.4.23" : null,
                    up ? 5 : 0, up ? 9 : 0, up ? 4096 : 0, i + 1, learner, up, true, null, "IDLE", null,
                    Map.of("etcd", up ? "active/enabled" : "failed/enabled")));
            members.add(new EtcdMember(Long.toHexString(i + 1), name, List.of("http://127.0.0." + (i + 1) + ":2380"),
                    List.of("http://127.0.0." + (i + 1) + ":2379"), learner, up));
        }
        int voters = (int) members.stream().filter(m -> !m.learner()).count();
        int healthy = (int) members.stream().filter(m -> !m.learner() && m.healthy()).count();
        boolean holds = healthy >= Quorum.of(voters);
        return new ClusterView("c", rows, members, "http://127.0.0.1:2379", alarms, holds ? "m0" : null,
                new Quorum(voters, healthy, Quorum.of(voters), holds), 5, 5);
    }
}
