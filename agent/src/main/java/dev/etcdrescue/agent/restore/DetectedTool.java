package dev.etcdrescue.agent.restore;

import dev.etcdrescue.proto.v1.RestoreTool;
import dev.etcdrescue.proto.v1.ToolInfo;
import java.nio.file.Path;

/** The restore tool found on this host and the flags its {@code snapshot restore --help} lists. */
public record DetectedTool(RestoreTool kind, Path path, String version, boolean bumpRevision,
                           boolean markCompacted, boolean skipHashCheck, boolean walDir) {

    public String displayName() {
        return path.getFileName() + " " + version;
    }

    public ToolInfo toProto() {
        return ToolInfo.newBuilder().setKind(kind).setPath(path.toString()).setVersion(version)
                .setSupportsBumpRevision(bumpRevision).setSupportsMarkCompacted(markCompacted)
                .setSupportsSkipHashCheck(skipHashCheck).setSupportsWalDir(walDir).build();
    }
}
