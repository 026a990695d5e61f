package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.proto.v1.PortCheck;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A restore in place: the new members keep the ports clients already use, which the old member still
 * holds on a host where it survived. Such a port is accepted as freed by the recovery (stop-old stops the
 * old member once every host is restored and configured); a port anything else holds is refused. Preflight
 * (recover) and the dry run (plan) both decide here.
 */
final class InPlace {
    private InPlace() {}

    /** One host's ports: those the recovery frees by stopping the old member, and the refusals. */
    record Ports(List<String> freed, List<String> busy) {}

    static Ports of(Collection<PortCheck> checks) {
        Set<String> freed = new LinkedHashSet<>();
        Set<String> busy = new LinkedHashSet<>();
        for (PortCheck p : checks) {
            String port = p.getAddress() + ":" + p.getPort();
            if (p.getFree()) {
                continue;
            }
            if (p.getHeldByOldMember()) {
                freed.add(port);
            } else {
                busy.add("port " + port + " is in use" + (p.getHolderPid() > 0 ? " by pid " + p.getHolderPid() : "")
                        + ": stop what listens there or choose other ports");
            }
        }
        return new Ports(new ArrayList<>(freed), new ArrayList<>(busy));
    }

    /** One line for the report and plan. */
    static String describe(String oldUnit, List<String> freed) {
        return "in place: " + String.join(", ", freed) + " held by the old member (" + oldUnit + "), which stop-old stops after"
                + " every host is restored and configured, just before the new members start; rollback starts it again";
    }
}
