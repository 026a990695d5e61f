package dev.etcdrescue.agent.restore;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.spec.MemberPlan;
import dev.etcdrescue.proto.v1.ErrorReason;
import dev.etcdrescue.proto.v1.RestoreTool;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Builds the {@code snapshot restore} argv for etcdutl or etcdctl from a checked plan. Pure: it only
 * refuses what the detected tool cannot do, so the caller learns it before anything is moved.
 * Flags use the {@code --flag=value} form so that no value can be read as another flag.
 */
public final class RestoreCommand {
    private RestoreCommand() {}

    public static CommandLine build(DetectedTool tool, Path snapshot, MemberPlan plan, RestoreOptions options) {
        requireSupported(tool, plan, options);
        List<String> argv = new ArrayList<>(List.of(tool.path().toString(), "snapshot", "restore", snapshot.toString(),
                "--data-dir=" + plan.dataDir(),
                "--name=" + plan.name(),
                "--initial-cluster=" + plan.initialCluster(),
                "--initial-cluster-token=" + plan.initialClusterToken(),
                "--initial-advertise-peer-urls=" + String.join(",", plan.peerUrls())));
        plan.walDir().ifPresent(wal -> argv.add("--wal-dir=" + wal));
        if (options.skipHashCheck()) {
            argv.add("--skip-hash-check");
        }
        if (options.bumpRevision() > 0) {
            argv.add("--bump-revision=" + options.bumpRevision());
            argv.add("--mark-compacted");
        }
        Map<String, String> env = tool.kind() == RestoreTool.ETCDCTL ? Map.of("ETCDCTL_API", "3") : Map.of();
        return new CommandLine(argv, env);
    }

    private static void requireSupported(DetectedTool tool, MemberPlan plan, RestoreOptions options) {
        if (!tool.restores()) {
            throw AgentException.failedPrecondition(ErrorReason.TOOL_UNSUPPORTED, tool.cannotRestore(tool.version(),
                    List.of(tool.path().getParent())));
        }
        if (options.bumpRevision() < 0) {
            throw AgentException.invalidField("bump_revision", "bump_revision must be >= 0, got " + options.bumpRevision());
        }
        if (options.markCompacted() && options.bumpRevision() == 0) {
            throw AgentException.invalidField("mark_compacted", "mark_compacted needs bump_revision > 0: etcd only marks a"
                    + " bumped revision as compacted");
        }
        if (options.bumpRevision() > 0 && !(tool.bumpRevision() && tool.markCompacted())) {
            throw AgentException.unsupportedField("bump_revision", tool.displayName() + " at " + tool.path()
                    + " has no --bump-revision/--mark-compacted in its 'snapshot restore --help': install etcdutl"
                    + " 3.5+ into one of the agent's tool_dirs, or restore without a revision bump");
        }
        if (options.skipHashCheck() && !tool.skipHashCheck()) {
            throw AgentException.unsupportedField("skip_hash_check", tool.displayName() + " has no --skip-hash-check");
        }
        if (plan.walDir().isPresent() && !tool.walDir()) {
            throw AgentException.unsupportedField("member.wal_dir", tool.displayName() + " has no --wal-dir: leave member.wal_dir empty");
        }
    }
}
