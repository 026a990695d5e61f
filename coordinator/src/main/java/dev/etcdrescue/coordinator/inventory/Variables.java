package dev.etcdrescue.coordinator.inventory;

import java.util.List;
import java.util.Optional;
import java.util.Set;

/** The variables an inventory may set, at any level (all.vars, group vars, host keys). */
final class Variables {
    private Variables() {}

    static final String ADDRESS = "address";
    static final String AGENT_PORT = "agent_port";
    static final String AGENT_ENDPOINT = "agent_endpoint";
    static final String ETCD_NAME = "etcd_name";
    static final String SCHEME = "scheme";
    static final String PEER_PORT = "peer_port";
    static final String CLIENT_PORT = "client_port";
    static final String PEER_URLS = "peer_urls";
    static final String CLIENT_URLS = "client_urls";
    static final String LISTEN_PEER_URLS = "listen_peer_urls";
    static final String LISTEN_CLIENT_URLS = "listen_client_urls";
    static final String DATA_DIR = "data_dir";
    static final String WAL_DIR = "wal_dir";
    static final String NEW_UNIT = "new_unit";
    static final String OLD_UNIT = "old_unit";
    /** The unit the new member's unit is copied from, when not old_unit (default: old_unit). */
    static final String BASE_UNIT = "base_unit";
    static final String HEARTBEAT_INTERVAL_MS = "heartbeat_interval_ms";
    static final String ELECTION_TIMEOUT_MS = "election_timeout_ms";
    static final String CLUSTER_TOKEN = "cluster_token";
    static final String SNAPSHOT_ENDPOINTS = "snapshot_endpoints";
    static final String SNAPSHOT_FILE = "snapshot_file";
    static final String TLS_DIR = "tls_dir";
    // etcd's own TLS, paths on the etcd host (rendered into the new member's env file)
    static final String ETCD_CERT_FILE = "etcd_cert_file";
    static final String ETCD_KEY_FILE = "etcd_key_file";
    static final String ETCD_CA_FILE = "etcd_ca_file";
    static final String ETCD_PEER_CERT_FILE = "etcd_peer_cert_file";
    static final String ETCD_PEER_KEY_FILE = "etcd_peer_key_file";
    static final String ETCD_PEER_CA_FILE = "etcd_peer_ca_file";
    /** Settings of the old member's env file carried over to the new one (a mapping, see {@link EtcdSettings}). */
    static final String ETCD_SETTINGS = "etcd_settings";
    // the coordinator's own etcd connections (snapshot, verify), paths on the coordinator's machine
    static final String ETCD_CLIENT_CA = "etcd_client_ca";
    static final String ETCD_CLIENT_CERT = "etcd_client_cert";
    static final String ETCD_CLIENT_KEY = "etcd_client_key";
    static final String ETCD_USER = "etcd_user";
    static final String ETCD_PASSWORD_FILE = "etcd_password_file";
    /** Known only to be refused with the way to give a password instead. */
    static final String ETCD_PASSWORD = "etcd_password";

    /** Shared by every member of a cluster: a host may not set a value different from the others. */
    static final List<String> CLUSTER_LEVEL = List.of(CLUSTER_TOKEN, SNAPSHOT_ENDPOINTS, SNAPSHOT_FILE, TLS_DIR,
            ETCD_CLIENT_CA, ETCD_CLIENT_CERT, ETCD_CLIENT_KEY, ETCD_USER, ETCD_PASSWORD_FILE);

    static final List<String> ALL = List.of(ADDRESS, AGENT_PORT, AGENT_ENDPOINT, ETCD_NAME, SCHEME, PEER_PORT,
            CLIENT_PORT, PEER_URLS, CLIENT_URLS, LISTEN_PEER_URLS, LISTEN_CLIENT_URLS, DATA_DIR, WAL_DIR, NEW_UNIT,
            OLD_UNIT, BASE_UNIT, HEARTBEAT_INTERVAL_MS, ELECTION_TIMEOUT_MS, CLUSTER_TOKEN, SNAPSHOT_ENDPOINTS, SNAPSHOT_FILE,
            TLS_DIR, ETCD_CERT_FILE, ETCD_KEY_FILE, ETCD_CA_FILE, ETCD_PEER_CERT_FILE, ETCD_PEER_KEY_FILE, ETCD_PEER_CA_FILE,
            ETCD_SETTINGS, ETCD_CLIENT_CA, ETCD_CLIENT_CERT, ETCD_CLIENT_KEY, ETCD_USER, ETCD_PASSWORD_FILE, ETCD_PASSWORD);

    private static final Set<String> KNOWN = Set.copyOf(ALL);

    static boolean isKnown(String name) {
        return KNOWN.contains(name);
    }

    /** The known name a typo most likely meant: at most two edits away. */
    static Optional<String> closest(String name) {
        String best = null;
        int bestDistance = 3;
        for (String known : ALL) {
            int distance = editDistance(name, known);
            if (distance < bestDistance) {
                best = known;
                bestDistance = distance;
            }
        }
        return Optional.ofNullable(best);
    }

    private static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }

    static final int DEFAULT_AGENT_PORT = 7443;
    static final int DEFAULT_PEER_PORT = 22380;
    static final int DEFAULT_CLIENT_PORT = 22379;
    static final String DEFAULT_SCHEME = "http";
    static final String DEFAULT_DATA_DIR = "/var/lib/etcd/new.etcd";
    static final String DEFAULT_NEW_UNIT = "etcd_new";
    static final String DEFAULT_OLD_UNIT = "etcd";
    static final String DEFAULT_TLS_DIR = "./pki";
    /** etcd's own defaults, needed to check the 5x rule when only one of the two is set. */
    static final int ETCD_DEFAULT_HEARTBEAT_MS = 100;
    static final int ETCD_DEFAULT_ELECTION_MS = 1000;
    /** etcd refuses election timeouts above this. */
    static final int ETCD_MAX_ELECTION_MS = 50_000;
}
