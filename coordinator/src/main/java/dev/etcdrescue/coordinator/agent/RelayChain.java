package dev.etcdrescue.coordinator.agent;

import java.util.ArrayList;
import java.util.List;

/**
 * The order of a relay: the coordinator sends to the first agent, each agent forwards to the next.
 * Each agent's grant names the hops after it (the rest of the chain), so that the next agent can
 * recognise itself as the next hop of the grant its upstream presents (see the agent's RelayGrants).
 */
public final class RelayChain {
    private RelayChain() {}

    /** For every member of {@code chain} (endpoints host:port, in order): the endpoints after it. */
    public static List<List<String>> nextHops(List<String> chain) {
        if (chain.stream().distinct().count() != chain.size()) {
            throw new IllegalArgumentException("a relay chain must not visit an agent twice: " + chain);
        }
        List<List<String>> hops = new ArrayList<>();
        for (int i = 0; i < chain.size(); i++) {
            hops.add(List.copyOf(chain.subList(i + 1, chain.size())));
        }
        return hops;
    }
}
