package dev.etcdrescue.systemtest;

import static org.awaitility.Awaitility.await;

import dev.etcdrescue.systemtest.testbed.ExecResult;
import dev.etcdrescue.systemtest.testbed.TestHost;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The agent's failpoints ({@code ETCD_RESCUE_FAILPOINTS}) on a testbed host, set as an operator would
 * set any environment variable of a service: a runtime drop-in (under the host's private /run, so it
 * is gone with the host), then a restart. Also the agent's own mount namespace, where a test mounts
 * what only the agent should see (a full disk, a broken tool).
 */
final class AgentFailpoints {
    static final String AGENT = "etcd-rescue-agent";
    private static final String DROP_IN = "/run/systemd/system/" + AGENT + ".service.d/50-failpoints.conf";
    private static final Duration SHORT = Duration.ofSeconds(30);

    /** Writes the drop-in only: for hosts whose agent is not installed yet (its first start arms it). */
    static void writeDropIn(TestHost h, String spec) {
        h.writeFile(DROP_IN, "[Service]\nEnvironment=\"ETCD_RESCUE_FAILPOINTS=" + spec + "\"\n");
    }

    /** Arms {@code spec} on every host given and restarts their agents (in parallel: a JVM start takes seconds). */
    static void arm(String spec, TestHost... hosts) {
        for (TestHost h : hosts) {
            writeDropIn(h, spec);
        }
        restart(hosts);
    }

    /** Removes the drop-in and restarts the agents, which then run without any failpoint. */
    static void disarm(TestHost... hosts) {
        forgetDropIn(hosts);
        restart(hosts);
    }

    /**
     * Removes the drop-in and reloads systemd, without a restart: the running agents keep their
     * failpoints, and an agent that systemd restarts after a kill (Restart=on-failure) runs without them.
     */
    static void forgetDropIn(TestHost... hosts) {
        for (TestHost h : hosts) {
            try {
                Files.deleteIfExists(h.livePath(DROP_IN));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            h.systemctl("daemon-reload").requireOk();
        }
    }

    /** daemon-reload and restart of the agents, then until each listens again. */
    static void restart(TestHost... hosts) {
        for (TestHost h : hosts) {
            h.systemctl("daemon-reload").requireOk();
            h.systemctl("restart", AGENT).requireOk();
        }
        for (TestHost h : hosts) {
            waitListening(h);
        }
    }

    /** Until the host's agent accepts TCP on its port (the JVM is up and serving). */
    static void waitListening(TestHost h) {
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() -> {
            try (Socket s = new Socket(h.address(), 7443)) {
                return true;
            }
        });
    }

    static String agentPid(TestHost h) {
        return h.systemctl("show", "-p", "MainPID", "--value", AGENT).stdout().strip();
    }

    /** SIGKILL to the agent, as the OOM killer or a crash would end it; systemd restarts it (Restart=on-failure). */
    static void sigkillAgent(TestHost h) {
        h.execOk(SHORT, "systemctl", "kill", "-s", "SIGKILL", AGENT);
    }

    /**
     * Runs argv inside the host, in the mount namespace of the process {@code pid} (the agent): its
     * {@code ProtectSystem=}/{@code PrivateTmp=} namespace does not receive the host's later mounts,
     * and mounts made here are seen by the agent and its children only.
     */
    static ExecResult inAgentMounts(TestHost h, String pid, String... argv) {
        List<String> all = new ArrayList<>(List.of("nsenter", "-t", pid, "-m", "--"));
        all.addAll(List.of(argv));
        return h.exec(Duration.ofSeconds(60), all.toArray(String[]::new));
    }

    private AgentFailpoints() {}
}
