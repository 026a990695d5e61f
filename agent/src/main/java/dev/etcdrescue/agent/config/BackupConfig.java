package dev.etcdrescue.agent.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Scheduled backups ({@code backup:} in agent.yaml): the agents of a cluster take turns, one backup per
 * interval, each checked, signed and kept in {@code dir}.
 *
 * @param interval  one backup per interval for the whole cluster; the member whose turn it is takes it
 * @param dir       where this agent keeps its backups (one file and one signed manifest each)
 * @param cluster   the name backups are listed under (the inventory's group name); the etcd cluster id when absent
 * @param etcd      how this agent reaches its own member, as its clients do
 * @param retention how many to keep, by age tier
 * @param drillEvery how often this agent restores its newest backup into a throwaway etcd to prove it restores; none when empty
 * @param copies    how many peer agents of the cluster get a copy of each backup this agent takes (0: none)
 */
public record BackupConfig(Duration interval, Path dir, Optional<String> cluster, EtcdAccess etcd, Retention retention,
                           Optional<Duration> drillEvery, int copies) {
    /** One copy on a peer besides the taker's own: two independent copies of every backup. */
    public static final int DEFAULT_COPIES = 1;

    /** The member's client URL and, for https, the client TLS files (those of the member's own clients). */
    public record EtcdAccess(URI endpoint, Optional<Path> ca, Optional<Path> cert, Optional<Path> key) {}

    /**
     * Grandfather-father-son: the newest {@code keepLast}, then the newest of each of the last {@code hourly}
     * hours, {@code daily} days and {@code weekly} weeks. The newest verified backup is kept whatever these say.
     */
    public record Retention(int keepLast, int hourly, int daily, int weekly) {
        public static final Retention DEFAULT = new Retention(3, 24, 7, 4);
    }
}
