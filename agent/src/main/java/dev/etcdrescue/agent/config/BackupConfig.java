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
 * @param s3        a copy of each backup this agent takes in S3-compatible object storage; none when empty
 */
public record BackupConfig(Duration interval, Path dir, Optional<String> cluster, EtcdAccess etcd, Retention retention,
                           Optional<Duration> drillEvery, int copies, Optional<S3> s3) {
    /** Without a copy in object storage. */
    public BackupConfig(Duration interval, Path dir, Optional<String> cluster, EtcdAccess etcd, Retention retention,
                        Optional<Duration> drillEvery, int copies) {
        this(interval, dir, cluster, etcd, retention, drillEvery, copies, Optional.empty());
    }

    /**
     * Where the copies in object storage go ({@code backup.s3}): objects {@code <prefix><cluster>/<id>.db.zst} and, written
     * after the file read back whole, {@code <prefix><cluster>/<id>.manifest.json}. The secrets are in {@code credentialsFile}
     * (never in agent.yaml), read each time the store is used so that a rotated key is picked up.
     *
     * @param endpoint        the S3 API's URL (any S3-compatible store); empty: AWS's own endpoint for {@code region}
     * @param bucket          the bucket, which must exist
     * @param prefix          prepended to every object key: empty, or ending in '/'
     * @param region          the signing region (S3-compatible stores mostly accept us-east-1)
     * @param pathStyle       bucket in the path (http://host/bucket/key), as most S3-compatible stores want; else in the host name
     * @param credentialsFile an AWS-style credentials file: aws_access_key_id and aws_secret_access_key (of [default])
     */
    public record S3(Optional<URI> endpoint, String bucket, String prefix, String region, boolean pathStyle, Path credentialsFile) {
        /** {@code s3://bucket/prefix}: how the copies' holder is named in listings. */
        public String location() {
            return "s3://" + bucket + "/" + prefix;
        }
    }
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
