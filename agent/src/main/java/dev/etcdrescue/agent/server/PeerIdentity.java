package dev.etcdrescue.agent.server;

import dev.etcdrescue.pki.Role;
import io.grpc.Context;
import java.util.Optional;

/** Who is calling, from the verified client certificate; put into the call's Context by the interceptor. */
public record PeerIdentity(String commonName, Optional<Role> role) {
    public static final Context.Key<PeerIdentity> KEY = Context.key("etcd-rescue-peer");

    /** The caller's CN for the audit log; "unknown" outside a call. */
    public static String currentCommonName() {
        PeerIdentity peer = KEY.get();
        return peer == null ? "unknown" : peer.commonName();
    }
}
