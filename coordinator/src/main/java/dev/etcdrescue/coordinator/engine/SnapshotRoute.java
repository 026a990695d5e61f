package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.agent.SnapshotDistribution.Mode;
import dev.etcdrescue.coordinator.inventory.Addresses;
import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import java.net.URI;
import java.util.Optional;

/**
 * Which way the snapshot's bytes go (decision 0022): from the source host's agent to the others, so the
 * coordinator carries none of them, whenever the source member runs on an inventory host (which has an
 * agent); otherwise through the coordinator, as the option says or streamed. Pure decisions, no I/O.
 */
final class SnapshotRoute {
    /**
     * Receivers up to which the source sends to each itself: a 3-member cluster, where the source's NIC carries
     * two copies. From a 5-member cluster on it would carry four or more, where a chain carries one per link
     * (decision 0022).
     */
    static final int MAX_FAN_OUT = 2;

    /** What the snapshot phase does: who takes the snapshot, and how distribute sends it. */
    record Plan(Mode mode, Optional<String> sourceHost, String why) {
        boolean fromSource() {
            return mode.fromSource();
        }
    }

    private SnapshotRoute() {}

    /**
     * @param option the {@code --distribution} given (AUTO by default)
     * @param fileSource the inventory names a snapshot file on the coordinator's machine
     * @param sourceEndpoint the old member the snapshot is taken from (null for a file)
     * @throws IllegalArgumentException with what to do, when a source mode was forced where it cannot run
     */
    static Plan plan(Mode option, boolean fileSource, ClusterPlan cluster, URI sourceEndpoint) {
        if (fileSource) {
            if (option.fromSource()) {
                throw new IllegalArgumentException("--distribution " + option.label() + " sends from the source member's host, but the "
                        + "inventory names a snapshot_file on this machine: use --distribution direct or relay");
            }
            return new Plan(option == Mode.AUTO ? Mode.DIRECT : option, Optional.empty(), "a snapshot file on the coordinator's machine");
        }
        Optional<MemberPlan> host = sourceHost(cluster, sourceEndpoint);
        if (host.isEmpty()) {
            if (option.fromSource()) {
                throw new IllegalArgumentException("--distribution " + option.label() + " needs the source member " + sourceEndpoint
                        + " on an inventory host (with an agent); it is on none: use --distribution streamed, direct or relay");
            }
            return new Plan(option == Mode.AUTO ? Mode.STREAMED : option, Optional.empty(),
                    "the source member " + sourceEndpoint + " is on no inventory host, so no agent can take the snapshot there");
        }
        int receivers = cluster.members().size() - 1;
        Mode mode = option == Mode.AUTO ? sourceMode(receivers) : option;
        return new Plan(mode, mode.fromSource() ? Optional.of(host.get().hostName()) : Optional.empty(),
                option == Mode.AUTO ? "the source member runs on " + host.get().hostName() + ", whose agent sends to " + receivers
                        + " host(s) " + (mode == Mode.SOURCE_FANOUT ? "itself (fan-out up to " + MAX_FAN_OUT + ")" : "along a chain")
                        : "--distribution " + option.label());
    }

    /** Fan-out up to {@link #MAX_FAN_OUT} receivers, a chain beyond. */
    static Mode sourceMode(int receivers) {
        return receivers <= MAX_FAN_OUT ? Mode.SOURCE_FANOUT : Mode.SOURCE_CHAIN;
    }

    /**
     * A round of sends from the source: the planned shape the first time; a fan-out for the hosts a failed
     * round left without the file, and whenever one of them already holds part of it (a chain forwards what
     * its hops receive from offset 0, so a hop resuming at its own offset cannot relay to the next).
     */
    static Mode round(Mode planned, int round, boolean anyPartial) {
        return planned == Mode.SOURCE_CHAIN && round == 1 && !anyPartial ? Mode.SOURCE_CHAIN : Mode.SOURCE_FANOUT;
    }

    /**
     * After the source's agent could not take the snapshot: the coordinator's own path when the default
     * chose the source, or the refusal when the operator forced it.
     *
     * @return the mode to go on with; empty when the run must stop
     */
    static Optional<Mode> fallback(Mode option) {
        return option == Mode.AUTO ? Optional.of(Mode.STREAMED) : Optional.empty();
    }

    /** The inventory host whose address (or agent address) is the source member's host. */
    static Optional<MemberPlan> sourceHost(ClusterPlan cluster, URI endpoint) {
        if (endpoint == null || endpoint.getHost() == null) {
            return Optional.empty();
        }
        String host = Addresses.canonical(endpoint.getHost());
        return cluster.members().stream().filter(m -> Addresses.canonical(m.address()).equals(host)
                || (m.agentHost() != null && Addresses.canonical(m.agentHost()).equals(host))).findFirst();
    }
}
