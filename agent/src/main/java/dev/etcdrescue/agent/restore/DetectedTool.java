package dev.etcdrescue.agent.restore;

import dev.etcdrescue.proto.v1.RestoreTool;
import dev.etcdrescue.proto.v1.ToolInfo;
import java.nio.file.Path;
import java.util.List;

/**
 * The restore tool found on this host and the flags its {@code snapshot restore --help} lists.
 * {@code restores} is false for an etcdctl without {@code snapshot restore} (etcd 3.6 removed it,
 * with {@code snapshot status}, PR #13809): its help is then the {@code snapshot} group's, without {@code --data-dir}.
 */
public record DetectedTool(RestoreTool kind, Path path, String version, boolean bumpRevision,
                           boolean markCompacted, boolean skipHashCheck, boolean walDir, boolean restores) {

    /** A tool whose {@code snapshot restore} exists, with the given flags. */
    public DetectedTool(RestoreTool kind, Path path, String version, boolean bumpRevision, boolean markCompacted,
                        boolean skipHashCheck, boolean walDir) {
        this(kind, path, version, bumpRevision, markCompacted, skipHashCheck, walDir, true);
    }

    /** What to do when this etcdctl cannot restore; {@code etcdVersion} is the host's etcd, when known. */
    public String cannotRestore(String etcdVersion, List<Path> toolDirs) {
        return displayName() + " at " + path + " has no 'snapshot restore' or 'snapshot status' (etcd 3.6 moved them to"
                + " etcdutl) and there is no etcdutl in the agent's tool_dirs " + toolDirs + ": install etcdutl "
                + etcdVersion + " (the same version as etcd) into " + path.getParent();
    }

    public String displayName() {
        return path.getFileName() + " " + version;
    }

    public ToolInfo toProto() {
        return ToolInfo.newBuilder().setKind(kind).setPath(path.toString()).setVersion(version)
                .setSupportsBumpRevision(bumpRevision).setSupportsMarkCompacted(markCompacted)
                .setSupportsSkipHashCheck(skipHashCheck).setSupportsWalDir(walDir).build();
    }
}
