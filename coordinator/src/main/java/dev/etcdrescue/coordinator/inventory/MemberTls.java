package dev.etcdrescue.coordinator.inventory;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The TLS files of one restored member, as absolute paths on its host. Written into its env file with
 * client- and peer-certificate auth on: a member that serves https asks every client and peer for a
 * certificate of its CA, as kubeadm's etcd does.
 */
public record MemberTls(String certFile, String keyFile, String caFile, String peerCertFile, String peerKeyFile,
                        String peerCaFile) {

    /** The ETCD_* settings, in the order they appear in the env file. */
    public Map<String, String> env() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("ETCD_CERT_FILE", certFile);
        env.put("ETCD_KEY_FILE", keyFile);
        env.put("ETCD_TRUSTED_CA_FILE", caFile);
        env.put("ETCD_CLIENT_CERT_AUTH", "true");
        env.put("ETCD_PEER_CERT_FILE", peerCertFile);
        env.put("ETCD_PEER_KEY_FILE", peerKeyFile);
        env.put("ETCD_PEER_TRUSTED_CA_FILE", peerCaFile);
        env.put("ETCD_PEER_CLIENT_CERT_AUTH", "true");
        return env;
    }
}
