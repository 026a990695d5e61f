package dev.etcdrescue.systemtest.testbed;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** The old cluster: Debian's etcd.service on every host, configured through /etc/default/etcd. */
final class OldCluster {
    static final int CLIENT_PORT = 2379;
    static final int PEER_PORT = 2380;
    /** Generous: 10 members, 5 systemds and JVMs share 2 cores; elections under load take a while. */
    private static final Duration HEALTHY_DEADLINE = Duration.ofSeconds(90);
    private static final Duration STOPPED_DEADLINE = Duration.ofSeconds(30);
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(15);

    private OldCluster() {
    }

    static String clientUrl(TestHost host) {
        return "http://" + host.address() + ":" + CLIENT_PORT;
    }

    static String peerUrl(TestHost host) {
        return "http://" + host.address() + ":" + PEER_PORT;
    }

    static String envFile(TestHost host, List<TestHost> members, String token) {
        String initialCluster = members.stream().map(m -> m.name() + "=" + peerUrl(m))
                .collect(Collectors.joining(","));
        // Timers above etcd's defaults: on 2 shared cores the defaults cause spurious elections.
        return "ETCD_NAME=" + host.name() + "\n"
                + "ETCD_DATA_DIR=/var/lib/etcd/default\n"
                + "ETCD_LISTEN_PEER_URLS=" + peerUrl(host) + "\n"
                + "ETCD_LISTEN_CLIENT_URLS=" + clientUrl(host) + "\n"
                + "ETCD_INITIAL_ADVERTISE_PEER_URLS=" + peerUrl(host) + "\n"
                + "ETCD_ADVERTISE_CLIENT_URLS=" + clientUrl(host) + "\n"
                + "ETCD_INITIAL_CLUSTER=" + initialCluster + "\n"
                + "ETCD_INITIAL_CLUSTER_TOKEN=" + token + "\n"
                + "ETCD_INITIAL_CLUSTER_STATE=new\n"
                + "ETCD_HEARTBEAT_INTERVAL=250\n"
                + "ETCD_ELECTION_TIMEOUT=2500\n";
    }

    static void start(List<TestHost> hosts, String token) {
        for (TestHost host : hosts) {
            host.writeFile("/etc/default/etcd", envFile(host, hosts, token));
        }
        // --no-block: Type=notify waits for quorum, so a blocking start of the first member would hang.
        for (TestHost host : hosts) {
            host.systemctl("start", "--no-block", "etcd").requireOk();
        }
        String endpoints = hosts.stream().map(OldCluster::clientUrl).collect(Collectors.joining(","));
        Instant deadline = Instant.now().plus(HEALTHY_DEADLINE);
        ExecResult last;
        do {
            last = hosts.get(0).exec(PROBE_TIMEOUT, "etcdctl", "--endpoints=" + endpoints,
                    "--dial-timeout=2s", "--command-timeout=5s", "endpoint", "health");
            if (last.ok()) {
                return;
            }
            sleep(POLL);
        } while (Instant.now().isBefore(deadline));
        StringBuilder states = new StringBuilder();
        for (TestHost host : hosts) {
            states.append(host.name()).append(": etcd ").append(host.unitState("etcd")).append('\n');
        }
        throw new IllegalStateException("old cluster not healthy after " + HEALTHY_DEADLINE.toSeconds() + " s\n"
                + states + last.describe() + "\n--- journal of etcd on " + hosts.get(0).name() + "\n"
                + tail(hosts.get(0).journal("etcd"), 40));
    }

    static void killPermanently(TestHost host) {
        // Debian's unit has Restart=on-abnormal: without the drop-in, systemd brings etcd back in a second.
        host.execOk(Duration.ofSeconds(30), "sh", "-c",
                "mkdir -p /run/systemd/system/etcd.service.d"
                        + " && printf '[Service]\\nRestart=no\\n' > /run/systemd/system/etcd.service.d/testbed-no-restart.conf"
                        + " && systemctl daemon-reload");
        host.systemctl("kill", "-s", "SIGKILL", "etcd").requireOk();
        Set<String> stopped = Set.of("inactive", "failed");
        Instant deadline = Instant.now().plus(STOPPED_DEADLINE);
        String state;
        while (!stopped.contains(state = host.unitState("etcd"))) {
            if (Instant.now().isAfter(deadline)) {
                throw new IllegalStateException("etcd on " + host + " still " + state + " after SIGKILL");
            }
            sleep(Duration.ofMillis(200));
        }
    }

    private static String tail(String text, int lines) {
        String[] all = text.split("\n");
        return String.join("\n", List.of(all).subList(Math.max(0, all.length - lines), all.length));
    }

    static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
