package dev.etcdrescue.agent.restore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Whether the agent (root) may run a binary found in tool_dirs: the file and every directory above it,
 * on the path as configured and on its real path, must belong to root (or to the agent's own user,
 * which is root in production) and not be writable by group or others; a world-writable directory with
 * the sticky bit (/tmp) passes, since nobody else can replace what root put there. Otherwise the owner
 * of a tool dir (the etcd user, in tarball installs under /opt/etcd) could drop a binary that root runs
 * at the next GetStatus, as sudo's secure_path and OpenSSH's StrictModes guard against.
 */
final class ToolTrust {
    private static final int GROUP_OR_OTHER_WRITE = 0022;
    private static final int STICKY = 01000;

    private final int agentUid;

    ToolTrust(int agentUid) {
        this.agentUid = agentUid;
    }

    /** The user the agent runs as: the owner of its own /proc entry. */
    static ToolTrust forThisProcess() {
        try {
            return new ToolTrust((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | UnsupportedOperationException e) {
            return new ToolTrust(0);
        }
    }

    /** Why {@code tool} must not be run; empty when it may be. */
    Optional<String> refusal(Path tool) {
        try {
            Optional<String> asConfigured = check(tool.toAbsolutePath());
            return asConfigured.isPresent() ? asConfigured : check(tool.toRealPath());
        } catch (IOException e) {
            return Optional.of(tool + " cannot be checked: " + e.getMessage());
        }
    }

    private Optional<String> check(Path file) throws IOException {
        for (Path p = file; p != null; p = p.getParent()) {
            int uid = (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            boolean link = Files.isSymbolicLink(p);
            if (uid != 0 && uid != agentUid) {
                return Optional.of(p + " belongs to uid " + uid + ", not root: whoever owns it could replace " + file);
            }
            boolean stickyDir = !link && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) && (mode & STICKY) != 0;
            if (!link && (mode & GROUP_OR_OTHER_WRITE) != 0 && !(stickyDir && p != file)) {
                return Optional.of(p + " is writable by group or others (mode " + Integer.toOctalString(mode & 07777)
                        + "): they could replace " + file);
            }
        }
        return Optional.empty();
    }
}
