package dev.etcdrescue.agent.server;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.spec.Grammar;
import dev.etcdrescue.proto.v1.ErrorReason;
import dev.etcdrescue.proto.v1.OperationHeader;

/** Checks an {@link OperationHeader} against the grammar and this agent's own host name. */
public final class HeaderValidator {
    private final String hostName;

    public HeaderValidator(String hostName) {
        this.hostName = hostName;
    }

    public OperationHeader check(boolean present, OperationHeader header) {
        if (!present) {
            throw AgentException.invalidArgument("the request carries no operation header");
        }
        Grammar.identifier(header.getClusterName(), "header.cluster_name");
        Grammar.identifier(header.getOperationId(), "header.operation_id");
        if (!hostName.equals(header.getHostName())) {
            throw AgentException.failedPrecondition(ErrorReason.WRONG_HOST, "this agent is host " + hostName + ", the request is for host "
                    + (header.getHostName().isEmpty() ? "(none)" : header.getHostName())
                    + ": check the inventory's agent endpoint");
        }
        return header;
    }
}
