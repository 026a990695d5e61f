package dev.etcdrescue.systemtest;

import dev.etcdrescue.systemtest.testbed.OldCluster;
import dev.etcdrescue.systemtest.testbed.TestHost;
import dev.etcdrescue.systemtest.testbed.Testbed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/** Writes inventories for testbed hosts, in the seed's shape (etcd_new on 22379/22380, /var/lib/etcd/new.etcd). */
final class Inventories {
    /**
     * The running cluster as it is (what replace-member acts on): the members' own URLs on ports 2379/2380 and their
     * data dir {@code dataDir}, the unit a replacement runs as copied from old_unit; the survivors' endpoints as source.
     */
    static String runningCluster(String cluster, List<TestHost> hosts, Path tlsDir, String dataDir) {
        String yaml = seedLike(cluster, hosts, tlsDir, fromEndpoints(hosts))
                .replace("peer_port: 22380\n        client_port: 22379\n", "peer_port: 2380\n        client_port: 2379\n")
                .replace("data_dir: /var/lib/etcd/new.etcd\n", "data_dir: " + dataDir + "\n");
        if (!yaml.contains("data_dir: " + dataDir + "\n") || !yaml.contains("client_port: 2379\n")) {
            throw new IllegalStateException("the seed inventory's layout changed: " + yaml);
        }
        return yaml;
    }

    static String seedLike(String cluster, List<TestHost> hosts, Path tlsDir, String snapshotLines) {
        StringBuilder y = new StringBuilder();
        y.append("all:\n  vars:\n    agent_port: 7443\n    tls_dir: ").append(tlsDir).append('\n');
        y.append("  children:\n    ").append(cluster).append(":\n      vars:\n");
        y.append("        cluster_token: ").append(cluster).append("-restored\n");
        y.append(snapshotLines);
        y.append("        old_unit: etcd\n        new_unit: etcd_new\n        data_dir: /var/lib/etcd/new.etcd\n");
        y.append("        peer_port: 22380\n        client_port: 22379\n");
        // Ten etcd members, five systemds and JVMs share two cores: etcd's default timers cause spurious elections.
        y.append("        heartbeat_interval_ms: 250\n        election_timeout_ms: 2500\n");
        return y.append(hosts(hosts)).toString();
    }

    /** The cluster's {@code hosts:} block: each host with its address. */
    static String hosts(List<TestHost> hosts) {
        StringBuilder y = new StringBuilder("      hosts:\n");
        for (TestHost h : hosts) {
            y.append("        ").append(h.name()).append(":\n          address: ").append(h.address()).append('\n');
        }
        return y.toString();
    }

    /** The old members' https client URLs as snapshot endpoints, then the hosts: the tail of a TLS cluster's inventory. */
    static String tlsEndpointsAndHosts(List<TestHost> hosts) {
        return "        snapshot_endpoints:\n" + hosts.stream().map(h -> "          - " + OldCluster.tlsClientUrl(h) + "\n")
                .collect(Collectors.joining()) + hosts(hosts);
    }

    static String fromEndpoints(List<TestHost> oldMembers) {
        return "        snapshot_endpoints:\n" + oldMembers.stream()
                .map(h -> "          - " + Testbed.oldClientUrl(h) + "\n").collect(Collectors.joining());
    }

    static String fromFile(Path file) {
        return "        snapshot_file: " + file + "\n";
    }

    static Path write(Path dir, String name, String yaml) throws IOException {
        Files.createDirectories(dir);
        return Files.writeString(dir.resolve(name), yaml);
    }

    private Inventories() {}
}
