package dev.etcdrescue.coordinator.verify;

import java.net.URI;

/**
 * What the source member answered at the snapshot's revision, asked just before a restore in place stopped
 * it: verify compares the restored members with this, since the source no longer answers by then (and its
 * client URL may soon be a new member's).
 *
 * @param hashKv its hashkv at {@code revision}, null when the keys were digested instead (a revision bump
 *     makes the restored members' hashkv incomparable)
 * @param keys the number of keys at {@code revision} when digested, else -1
 * @param sha256 the digest of every key and value at {@code revision} (KeyspaceDigest), else null
 */
public record SourceRecord(URI source, long revision, Integer hashKv, long keys, String sha256) {}
