package dev.etcdrescue.coordinator.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Each host's etcd server against the etcd that wrote the snapshot. What is knowable here:
 * <ul>
 *   <li>the file's storage format ({@code BoltSnapshot}): {@code meta/storageVersion} from 3.6 on, the
 *       term from 3.5, neither up to 3.4; this is what etcd itself checks at start;</li>
 *   <li>for a snapshot of a live member, that member's server version (jetcd 0.8.7 cannot read 3.6's
 *       storage version from Status): the storage is never newer than the server, so it is an upper
 *       bound, and refusing below it may refuse a 3.6 server's still-3.5 data; the file's own format
 *       is checked again once the snapshot is taken.</li>
 * </ul>
 * A host whose etcd is older than the writer is refused: etcd 3.6 "will no longer start on data dir
 * created by newer versions" (CHANGELOG-3.6, Breaking) and a downgrade needs {@code etcdutl migrate}.
 * A host more than one minor version above it is warned about: upstream upgrades and tests one minor
 * version at a time (upgrade_3_6.md, upgrade_3_7.md), and 3.7 keeps the 3.5 term fallback only with a
 * TODO to remove it.
 */
final class SnapshotVersionGate {
    private SnapshotVersionGate() {}

    record Verdict(List<String> refused, List<String> warnings) {}

    /**
     * @param hostEtcd  each host's etcd server version
     * @param writer    the oldest minor version that can have written the snapshot ("3.5"); empty: 3.4 or older
     * @param what      how the writer is known, for the messages ("the snapshot's storage version 3.6")
     */
    static Verdict check(Map<String, String> hostEtcd, Optional<String> writer, String what) {
        List<String> refused = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        String floor = writer.orElse("3.4");
        hostEtcd.forEach((host, version) -> {
            if (version.isBlank() || version.equals("unknown")) {
                return;
            }
            if (writer.isPresent() && EtcdVersions.compareMinor(version, floor) < 0) {
                refused.add(host + " runs etcd " + version + ", older than " + what + ": etcd does not start on data written"
                        + " by a newer version. Install etcd " + floor + " or newer there, or restore an older snapshot");
            } else if (EtcdVersions.minorsAbove(version, floor) > 1) {
                warnings.add(host + " runs etcd " + version + ", more than one minor version above " + what
                        + ": etcd upgrades one minor version at a time and does not test this jump; verify checks the result");
            }
        });
        return new Verdict(refused, warnings);
    }
}
