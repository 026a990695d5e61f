package dev.etcdrescue.agent.config;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.spec.MemberPlan;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Settings that are each valid but do not fit together, refused before a member is configured that
 * etcd would refuse to start: an https URL without its certificate, client-certificate auth without
 * a CA to check against, a metrics listener on a port the member itself listens on.
 */
final class TlsCoherence {
    private TlsCoherence() {}

    /** {@code values}: every ETCD_* setting the env file will hold, the plan's and the extras. */
    static void check(MemberPlan plan, Map<String, String> values) {
        boolean httpsClient = anyHttps(plan.clientUrls()) || anyHttps(plan.listenClientUrls());
        boolean httpsPeer = anyHttps(plan.peerUrls()) || anyHttps(plan.listenPeerUrls());
        if (httpsClient) {
            require(values, "ETCD_CERT_FILE", "member.client_urls are https");
            require(values, "ETCD_KEY_FILE", "member.client_urls are https");
        }
        if (httpsPeer) {
            require(values, "ETCD_PEER_CERT_FILE", "member.peer_urls are https");
            require(values, "ETCD_PEER_KEY_FILE", "member.peer_urls are https");
        }
        pair(values, "ETCD_CERT_FILE", "ETCD_KEY_FILE");
        pair(values, "ETCD_PEER_CERT_FILE", "ETCD_PEER_KEY_FILE");
        if ("true".equals(values.get("ETCD_CLIENT_CERT_AUTH"))) {
            require(values, "ETCD_TRUSTED_CA_FILE", "ETCD_CLIENT_CERT_AUTH is true");
        }
        if ("true".equals(values.get("ETCD_PEER_CLIENT_CERT_AUTH"))) {
            require(values, "ETCD_PEER_TRUSTED_CA_FILE", "ETCD_PEER_CLIENT_CERT_AUTH is true");
        }
        String metrics = values.get("ETCD_LISTEN_METRICS_URLS");
        if (metrics != null) {
            Set<Integer> taken = new HashSet<>();
            for (String url : concat(plan.listenClientUrls(), plan.listenPeerUrls())) {
                taken.add(URI.create(url).getPort());
            }
            for (String url : metrics.split(",")) {
                if (taken.contains(URI.create(url).getPort())) {
                    throw AgentException.invalidField("extra", "ETCD_LISTEN_METRICS_URLS " + url
                            + " uses a port the member listens on for clients or peers " + taken
                            + ": etcd would fail to bind it; choose another metrics port");
                }
            }
        }
    }

    private static void require(Map<String, String> values, String key, String because) {
        if (!values.containsKey(key)) {
            throw AgentException.invalidField("extra", because + " but no " + key + " is given: etcd would refuse to start;"
                    + " send " + key + " in extra (the inventory's etcd_*_file variables)");
        }
    }

    private static void pair(Map<String, String> values, String cert, String key) {
        if (values.containsKey(cert) != values.containsKey(key)) {
            throw AgentException.invalidField("extra", cert + " and " + key + " go together: give both or neither");
        }
    }

    private static boolean anyHttps(List<String> urls) {
        return urls.stream().anyMatch(u -> u.startsWith("https://"));
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
