package dev.etcdrescue.systemtest.testbed;

import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.Pem;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The old cluster: Debian's etcd.service on every host, configured through /etc/default/etcd.
 * Plain http by default; {@link #startTls} runs it as production clusters do: https client and peer
 * URLs with client- and peer-certificate auth, certificates of the given etcd CA in {@link #PKI_DIR}.
 */
public final class OldCluster {
    /** Where the TLS old cluster's files are on every host: ca.pem, member.pem, member-key.pem (owned by etcd). */
    public static final String PKI_DIR = "/etc/etcd/pki";
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

    /** {@code https://<address>:2379}: the TLS old member's client URL. */
    public static String tlsClientUrl(TestHost host) {
        return "https://" + host.address() + ":" + CLIENT_PORT;
    }

    static String envFile(TestHost host, List<TestHost> members, String token) {
        return envFile(host, members, token, false);
    }

    private static String envFile(TestHost host, List<TestHost> members, String token, boolean tls) {
        String initialCluster = members.stream().map(m -> m.name() + "=" + peerUrl(m, tls))
                .collect(Collectors.joining(","));
        String tlsSettings = !tls ? "" : "ETCD_CERT_FILE=" + PKI_DIR + "/member.pem\n"
                + "ETCD_KEY_FILE=" + PKI_DIR + "/member-key.pem\n"
                + "ETCD_TRUSTED_CA_FILE=" + PKI_DIR + "/ca.pem\n"
                + "ETCD_CLIENT_CERT_AUTH=true\n"
                + "ETCD_PEER_CERT_FILE=" + PKI_DIR + "/member.pem\n"
                + "ETCD_PEER_KEY_FILE=" + PKI_DIR + "/member-key.pem\n"
                + "ETCD_PEER_TRUSTED_CA_FILE=" + PKI_DIR + "/ca.pem\n"
                + "ETCD_PEER_CLIENT_CERT_AUTH=true\n";
        // Timers above etcd's defaults: on 2 shared cores the defaults cause spurious elections.
        return "ETCD_NAME=" + host.name() + "\n"
                + "ETCD_DATA_DIR=/var/lib/etcd/default\n"
                + "ETCD_LISTEN_PEER_URLS=" + peerUrl(host, tls) + "\n"
                + "ETCD_LISTEN_CLIENT_URLS=" + clientUrl(host, tls) + "\n"
                + "ETCD_INITIAL_ADVERTISE_PEER_URLS=" + peerUrl(host, tls) + "\n"
                + "ETCD_ADVERTISE_CLIENT_URLS=" + clientUrl(host, tls) + "\n"
                + "ETCD_INITIAL_CLUSTER=" + initialCluster + "\n"
                + "ETCD_INITIAL_CLUSTER_TOKEN=" + token + "\n"
                + "ETCD_INITIAL_CLUSTER_STATE=new\n"
                + "ETCD_HEARTBEAT_INTERVAL=250\n"
                + "ETCD_ELECTION_TIMEOUT=2500\n"
                + tlsSettings;
    }

    private static String clientUrl(TestHost host, boolean tls) {
        return tls ? tlsClientUrl(host) : clientUrl(host);
    }

    private static String peerUrl(TestHost host, boolean tls) {
        return (tls ? "https" : "http") + "://" + host.address() + ":" + PEER_PORT;
    }

    static void start(List<TestHost> hosts, String token) {
        start(hosts, token, false);
    }

    /**
     * Like the plain old cluster, with TLS everywhere: each host gets a member certificate of {@code etcdCa}
     * (SAN its address and 127.0.0.1; also its client certificate towards peers) in {@link #PKI_DIR}, key 0600 owned by etcd.
     */
    public static void startTls(List<TestHost> hosts, String token, CertificateAuthority etcdCa) {
        for (TestHost host : hosts) {
            // 127.0.0.1 too: testbed hosts share the loopback, so peer connections come from 127.0.0.1, and etcd
            // checks a peer's certificate against the address the connection comes from.
            IssuedCertificate member = etcdCa.issueEtcdMember(host.name(), List.of(host.address(), "127.0.0.1"), Duration.ofDays(1));
            host.writeFile(PKI_DIR + "/ca.pem", Pem.toPem(etcdCa.certificate()));
            host.writeFile(PKI_DIR + "/member.pem", Pem.toPem(member.certificate()));
            host.writeFile(PKI_DIR + "/member-key.pem", Pem.toPem(member.privateKey()));
            host.execOk(Duration.ofSeconds(30), "sh", "-c", "chown -R etcd:etcd " + PKI_DIR + " && chmod 0600 " + PKI_DIR + "/member-key.pem");
        }
        start(hosts, token, true);
    }

    private static void start(List<TestHost> hosts, String token, boolean tls) {
        for (TestHost host : hosts) {
            host.writeFile("/etc/default/etcd", envFile(host, hosts, token, tls));
        }
        // --no-block: Type=notify waits for quorum, so a blocking start of the first member would hang.
        for (TestHost host : hosts) {
            host.systemctl("start", "--no-block", "etcd").requireOk();
        }
        String endpoints = hosts.stream().map(h -> clientUrl(h, tls)).collect(Collectors.joining(","));
        List<String> probe = new ArrayList<>(List.of("etcdctl", "--endpoints=" + endpoints, "--dial-timeout=2s", "--command-timeout=5s"));
        if (tls) {
            probe.addAll(List.of("--cacert=" + PKI_DIR + "/ca.pem", "--cert=" + PKI_DIR + "/member.pem", "--key=" + PKI_DIR + "/member-key.pem"));
        }
        probe.addAll(List.of("endpoint", "health"));
        Instant deadline = Instant.now().plus(HEALTHY_DEADLINE);
        ExecResult last;
        do {
            last = hosts.get(0).exec(PROBE_TIMEOUT, probe.toArray(String[]::new));
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
        ExecResult kill = host.systemctl("kill", "-s", "SIGKILL", "etcd");
        // systemd can fail to signal a unit's auxiliary processes (seen here: "Input/output error" under load)
        // after it killed the main one: what counts is that the unit stops, checked below.
        if (kill.exitCode() != 0 && !kill.stderr().contains("auxiliary processes")) {
            kill.requireOk();
        }
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
