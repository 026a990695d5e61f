package dev.etcdrescue.coordinator.rollout;

import com.fasterxml.jackson.annotation.JsonFormat;
import dev.etcdrescue.proto.v1.AgentStatus;
import dev.etcdrescue.proto.v1.ClaimInfo;
import dev.etcdrescue.proto.v1.ToolInfo;
import java.time.Instant;

/**
 * What one host's agent says about itself ({@code etcd-rescue status}); when it could not be asked,
 * {@code reachable} is false and {@code error} says why. {@code error} is also set when the agent
 * answers under another host name than the inventory's (a wrong address in the inventory).
 */
public record HostStatus(
        String cluster,
        String host,
        String endpoint,
        boolean reachable,
        String error,
        String hostName,
        String agentVersion,
        String etcdVersion,
        RestoreTool restoreTool,
        Claim claim,
        String phase,
        String operationId,
        String lastResult,
        long bytesReceived,
        long bytesExpected,
        @JsonFormat(shape = JsonFormat.Shape.STRING) Instant updated) {

    /** The tool the agent restores with. */
    public record RestoreTool(String kind, String path, String version, boolean supportsBumpRevision) {}

    /** The operation holding the agent, until when. */
    public record Claim(String cluster, String operationId, @JsonFormat(shape = JsonFormat.Shape.STRING) Instant validUntil) {}

    /** Reachable, and answering as the host the inventory names. */
    public boolean ok() {
        return reachable && error == null;
    }

    static HostStatus unreachable(String cluster, String host, String endpoint, String reason) {
        return new HostStatus(cluster, host, endpoint, false, reason, null, null, null, null, null, null, null, null, 0, 0, null);
    }

    static HostStatus of(String cluster, String host, String endpoint, AgentStatus s) {
        String error = s.getHostName().equals(host) ? null
                : "the agent answers as '" + s.getHostName() + "', not '" + host + "': check the address in the inventory";
        RestoreTool tool = null;
        if (s.hasRestoreTool()) {
            ToolInfo t = s.getRestoreTool();
            tool = new RestoreTool(t.getKind().name().toLowerCase(java.util.Locale.ROOT), t.getPath(), t.getVersion(),
                    t.getSupportsBumpRevision());
        }
        Claim claim = null;
        if (s.hasClaim() && !s.getClaim().getOperationId().isEmpty()) {
            ClaimInfo c = s.getClaim();
            claim = new Claim(c.getClusterName(), c.getOperationId(), Instant.ofEpochMilli(c.getValidUntilUnixMs()));
        }
        return new HostStatus(cluster, host, endpoint, true, error, s.getHostName(), s.getAgentVersion(),
                blankToNull(s.getEtcdVersion()), tool, claim, s.getPhase().name(), blankToNull(s.getOperationId()),
                blankToNull(s.getLastResult()), s.getBytesReceived(), s.getBytesExpected(),
                s.getUpdatedUnixMs() == 0 ? null : Instant.ofEpochMilli(s.getUpdatedUnixMs()));
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
