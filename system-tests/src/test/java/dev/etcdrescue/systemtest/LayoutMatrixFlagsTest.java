package dev.etcdrescue.systemtest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.systemtest.testbed.Layout;
import dev.etcdrescue.systemtest.testbed.TestHost;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The layout matrix, layouts whose settings are not in an env file of the unit: every setting a flag of
 * ExecStart (Kubernetes The Hard Way, TLS), a --config-file YAML, and kubespray's docker mode, which recover
 * must refuse in preflight without touching a host. On the flag layout also a recovery interrupted
 * (coordinator SIGKILLed as the start phase begins) and resumed, then rolled back.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class LayoutMatrixFlagsTest extends LayoutMatrixBase {
    private OldState hardWayBefore;
    private Path interruptedRun;

    @Override
    String hostPrefix() {
        return "lmflag";
    }

    @Test
    @Order(1)
    void hardWayEveryFlagInExecStart() throws Exception {
        OldState before = oldClusterLosesQuorum(Layout.HARD_WAY);
        // plan shows where the old member's settings live, each with its flag and line, and the unit it would write.
        Cli.Result plan = Cli.etcdRescue("plan", "-i", inventory(Layout.HARD_WAY).toString());
        assertThat(plan.exitCode()).as("plan:%n%s", plan.all()).isZero();
        assertThat(plan.stdout()).contains("old member: flags on ExecStart at /etc/systemd/system/etcd.service:",
                "ETCD_QUOTA_BACKEND_BYTES=" + Layout.QUOTA_BACKEND_BYTES + "  [--quota-backend-bytes at /etc/systemd/system/etcd.service:",
                "carried: ETCD_QUOTA_BACKEND_BYTES=" + Layout.QUOTA_BACKEND_BYTES + " [--quota-backend-bytes at");
        assertThat(plan.stdout().lines().map(String::strip)).as("the new unit's ExecStart in plan")
                .contains("| ExecStart=/usr/local/bin/etcd").noneMatch(l -> l.startsWith("| ExecStart=") && l.contains("--"));
        Cli.Result r = recover(Layout.HARD_WAY);
        assertSucceeded("recover in layout HARD_WAY", r);
        assertRecovered(Layout.HARD_WAY, before);
    }

    @Test
    @Order(2)
    void configFileYaml() throws Exception {
        OldState before = oldClusterLosesQuorum(Layout.CONFIG_FILE);
        Cli.Result r = recover(Layout.CONFIG_FILE);
        assertSucceeded("recover in layout CONFIG_FILE", r);
        assertRecovered(Layout.CONFIG_FILE, before);
    }

    /**
     * kubespray's docker mode: the new unit would be a copy of one that first runs {@code docker rm -f <member>}
     * (the old member's container, the survivor's included) and then a container fed the OLD env file. Preflight
     * must refuse (exit 3) and say where: host, unit, file and line. Nothing may change on any host, and docker
     * (the testbed's stand-in) must not have been called by anything of the recovery.
     */
    @Test
    @Order(3)
    void kubesprayDockerModeIsRefusedInPreflight() throws Exception {
        Layout layout = Layout.KUBESPRAY_DOCKER;
        OldState before = oldClusterLosesQuorum(layout);
        Map<String, String> dockerCalls = dockerLogs();
        Map<String, List<String>> listings = listings();

        Cli.Result r = recover(layout);

        SoftAssertions soft = new SoftAssertions();
        soft.assertThat(r.exitCode()).as("recover of a docker-wrapped unit: exit 3, refused in preflight%n%s", r.all()).isEqualTo(3);
        for (TestHost h : hosts()) {
            String unit = h.readFile(layout.unitFile());
            List<String> places = List.of(layout.unitFile() + ":" + lineOf(unit, "ExecStartPre="),
                    layout.unitFile() + ":" + lineOf(unit, "ExecStart="), layout.unitFile() + ":" + lineOf(unit, "ExecStop="),
                    Layout.WRAPPER + ":" + lineOf(h.readFile(Layout.WRAPPER), "docker run"));
            soft.assertThat(r.all().lines().filter(l -> l.contains(h.name()) && places.stream().anyMatch(l::contains)).toList())
                    .as("a line naming %s and the docker line's file:line (one of %s)", h.name(), places).isNotEmpty();
            soft.assertThat(r.all().lines().filter(l -> l.contains(h.name()) && (l.contains("etcd.service") || l.contains("unit etcd")))
                    .toList()).as("a line naming %s and the unit etcd.service", h.name()).isNotEmpty();
            soft.assertThat(h.livePath("/etc/systemd/system/" + NEW_UNIT + ".service")).as("new unit on %s", h.name()).doesNotExist();
            soft.assertThat(h.livePath("/etc/default/" + NEW_UNIT)).as("new env file on %s", h.name()).doesNotExist();
            soft.assertThat(h.livePath(layout.newDataDir())).as("new data dir on %s", h.name()).doesNotExist();
            soft.assertThat(h.unitState(NEW_UNIT)).as("%s on %s", NEW_UNIT, h.name()).isIn(stopped());
        }
        soft.assertThat(listings()).as("files in /etc/systemd/system, /etc/default, /var/lib, /var/lib/etcd, /etc, /opt/bin").isEqualTo(listings);
        soft.assertThat(dockerLogs()).as("docker calls on each host (the testbed's stand-in logs them)").isEqualTo(dockerCalls);
        assertOldFilesUnchanged(soft, layout, before);
        soft.assertThat(survivor().unitState("etcd")).as("the survivor's old member").isEqualTo("active");
        soft.assertAll();
    }

    /** The coordinator SIGKILLed as the start phase begins; {@code resume} must finish the recovery. */
    @Test
    @Order(4)
    void hardWayInterruptedThenResumed() throws Exception {
        hardWayBefore = oldClusterLosesQuorum(Layout.HARD_WAY);
        Path runs = newRunsDir(Layout.HARD_WAY);
        interruptedRun = killWhenPhaseStarts(runs, "START", "recover", "-i", inventory(Layout.HARD_WAY).toString(),
                "--work-dir", runs.toString(), "--start-timeout", START_TIMEOUT, "--verify-timeout", VERIFY_TIMEOUT);
        Cli.Result r = Cli.etcdRescue("resume", interruptedRun.toString(), "--start-timeout", START_TIMEOUT,
                "--verify-timeout", VERIFY_TIMEOUT);
        assertSucceeded("resume of the interrupted recovery in layout HARD_WAY", r);
        assertThat(r.stdout()).contains("restore: done in an earlier attempt");
        assertRecovered(Layout.HARD_WAY, hardWayBefore);
    }

    /**
     * {@code rollback} of that run: the old unit runs again where it ran (the survivor), the new unit is stopped and
     * its files gone from every host, the old files and the old data are as they were. The survivor's old member,
     * started again without a quorum, stays "activating" (Type=notify) and serves no client until its peers are
     * back (etcd serves clients only once it is ready), so what it runs is read from /proc, not asked of it.
     */
    @Test
    @Order(5)
    void hardWayRolledBack() throws Exception {
        assertThat(interruptedRun).as("the interrupted run of the test before").isNotNull();
        Cli.Result r = Cli.etcdRescue("rollback", interruptedRun.toString(), "--yes");
        SoftAssertions soft = new SoftAssertions();
        soft.assertThat(r.exitCode()).as("rollback in layout HARD_WAY:%n%s", r.all()).isZero();
        soft.assertThat(survivor().unitState("etcd")).as("the survivor's old member after rollback").isIn("active", "activating");
        Map<String, String> old = RunningEtcd.of(survivor(), "etcd").effectiveConfig();
        soft.assertThat(old.get("name")).as("the survivor's old member's name").isEqualTo(Layout.HARD_WAY.memberName(hosts(), survivor()));
        soft.assertThat(old.get("data-dir")).as("the survivor's old member's data dir").isEqualTo(Layout.HARD_WAY.oldDataDir());
        for (TestHost h : hosts()) {
            soft.assertThat(h.unitState(NEW_UNIT)).as("%s on %s", NEW_UNIT, h.name()).isIn(stopped());
            soft.assertThat(h.livePath("/etc/systemd/system/" + NEW_UNIT + ".service")).as("new unit file on %s", h.name()).doesNotExist();
            soft.assertThat(h.livePath("/etc/default/" + NEW_UNIT)).as("new env file on %s", h.name()).doesNotExist();
            soft.assertThat(h.livePath(Layout.HARD_WAY.newDataDir())).as("new data dir on %s", h.name()).doesNotExist();
            soft.assertThat(h.hostPath(Layout.HARD_WAY.oldDataDir() + "/member/snap/db")).as("old data on %s", h.name()).exists();
        }
        assertOldFilesUnchanged(soft, Layout.HARD_WAY, hardWayBefore);
        soft.assertAll();
    }

    private static int lineOf(String text, String needle) {
        List<String> lines = text.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(needle)) {
                return i + 1;
            }
        }
        throw new IllegalArgumentException("no line with " + needle + " in\n" + text);
    }

    private Map<String, String> dockerLogs() throws Exception {
        Map<String, String> logs = new LinkedHashMap<>();
        for (TestHost h : hosts()) {
            Path log = h.livePath(Layout.DOCKER_LOG);
            logs.put(h.name(), Files.exists(log) ? Files.readString(log) : "");
        }
        return logs;
    }

    /** The names in the dirs a recovery writes to, host by host. */
    private Map<String, List<String>> listings() throws Exception {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (TestHost h : hosts()) {
            List<String> names = new ArrayList<>();
            for (String dir : List.of("/etc/systemd/system", "/etc/default", "/var/lib", "/var/lib/etcd", "/etc", "/opt/bin")) {
                try (var files = Files.list(h.livePath(dir))) {
                    files.map(f -> dir + "/" + f.getFileName()).sorted().forEach(names::add);
                }
            }
            out.put(h.name(), names);
        }
        return out;
    }
}
