package dev.etcdrescue.coordinator.agent;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;

/**
 * Agents served in this JVM over gRPC's in-process transport, one server per inventory host name: the
 * engine's fast tests run the coordinator's real client, deadlines and error contract against them.
 */
public final class InProcessAgents {
    private InProcessAgents() {}

    /** Channels that reach the server named after each endpoint's host name; relay grants signed with a throwaway key. */
    public static AgentChannels channels() {
        try {
            KeyPairGenerator keys = KeyPairGenerator.getInstance("EC");
            keys.initialize(new ECGenParameterSpec("secp256r1"));
            return new AgentChannels((endpoint, counting) -> InProcessChannelBuilder.forName(serverName(endpoint.hostName()))
                    .intercept(counting).build(), null,
                    keys.generateKeyPair().getPrivate());
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Server serve(String hostName, BindableService agent) throws IOException {
        return InProcessServerBuilder.forName(serverName(hostName)).addService(agent).build().start();
    }

    private static String serverName(String hostName) {
        return "etcd-rescue-agent-" + hostName;
    }
}
