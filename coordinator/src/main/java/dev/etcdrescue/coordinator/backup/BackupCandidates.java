package dev.etcdrescue.coordinator.backup;

import dev.etcdrescue.proto.v1.BackupEntry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Which copy of which backup to try, and in what order, from what the agents of one cluster list: the newest backup
 * first, and of one backup the taker's own copy before the copies its peers hold. A copy whose manifest does not hold,
 * or that was read back and did not match, is passed over with the reason; an agent that could not be asked too.
 */
public final class BackupCandidates {
    private BackupCandidates() {}

    /** One copy of a backup, on the host that holds it. */
    public record Candidate(BackupEntry backup, String holder) {
        public boolean isCopy() {
            return !backup.getCopyFrom().isEmpty();
        }

        /** A copy in object storage, which {@code holder}'s agent reaches; tried after every copy an agent holds. */
        public boolean inObjectStore() {
            return !backup.getLocation().isEmpty();
        }

        /** "ID on HOST", or "ID (copy from TAKER) on HOST". */
        public String describe() {
            return BackupCandidates.describe(backup, holder);
        }
    }

    /** The copies to try in order, and every one passed over before trying, with why. */
    public record Choice(List<Candidate> inOrder, List<String> passedOver) {}

    public static String describe(BackupEntry b, String holder) {
        if (!b.getLocation().isEmpty()) {
            return b.getId() + " in " + b.getLocation() + " (through " + holder + "'s agent)";
        }
        return b.getId() + (b.getCopyFrom().isEmpty() ? "" : " (copy from " + b.getCopyFrom() + ")") + " on " + holder;
    }

    /**
     * The rows with each copy in object storage kept once: every agent of a cluster with backup.s3 lists the same objects,
     * and the first agent that listed one (and read it back whole, when read back) stands for it.
     */
    public static List<FleetBackups.HostBackups> objectCopiesOnce(List<FleetBackups.HostBackups> hosts) {
        Map<String, String> chosen = new java.util.HashMap<>();
        for (FleetBackups.HostBackups h : hosts) {
            for (BackupEntry b : h.backups()) {
                String key = b.getLocation() + "\u0000" + b.getId();
                if (!b.getLocation().isEmpty() && (!chosen.containsKey(key) || (b.getTrusted() && b.getProblem().isEmpty()
                        && !goodOn(hosts, chosen.get(key), b)))) {
                    chosen.put(key, h.host());
                }
            }
        }
        List<FleetBackups.HostBackups> out = new ArrayList<>();
        for (FleetBackups.HostBackups h : hosts) {
            List<BackupEntry> kept = h.backups().stream().filter(b -> b.getLocation().isEmpty()
                    || h.host().equals(chosen.get(b.getLocation() + "\u0000" + b.getId()))).toList();
            out.add(new FleetBackups.HostBackups(h.cluster(), h.host(), h.endpoint(), h.configured(), h.lastResult(), h.error(), kept));
        }
        return out;
    }

    private static boolean goodOn(List<FleetBackups.HostBackups> hosts, String host, BackupEntry like) {
        return hosts.stream().filter(h -> h.host().equals(host)).flatMap(h -> h.backups().stream())
                .anyMatch(b -> b.getLocation().equals(like.getLocation()) && b.getId().equals(like.getId()) && b.getTrusted()
                        && b.getProblem().isEmpty());
    }

    /** @param which {@code latest}, or a backup id */
    public static Choice order(List<FleetBackups.HostBackups> hosts, String which) {
        List<String> passedOver = new ArrayList<>();
        List<Candidate> candidates = new ArrayList<>();
        for (FleetBackups.HostBackups h : hosts) {
            if (h.error() != null) {
                passedOver.add(h.host() + " not asked: " + h.error());
                continue;
            }
            for (BackupEntry b : h.backups()) {
                if (!which.equals("latest") && !b.getId().equals(which)) {
                    continue;
                }
                if (!b.getTrusted()) {
                    passedOver.add(describe(b, h.host()) + ": " + b.getProblem());
                } else if (!b.getProblem().isEmpty()) {
                    passedOver.add(describe(b, h.host()) + ": does not read back: " + b.getProblem());
                } else {
                    candidates.add(new Candidate(b, h.host()));
                }
            }
        }
        candidates.sort(Comparator.comparing((Candidate c) -> Instant.parse(c.backup().getTakenAt())).reversed()
                .thenComparing(Candidate::inObjectStore).thenComparing(Candidate::isCopy).thenComparing(Candidate::holder));
        return new Choice(candidates, passedOver);
    }

    /**
     * What {@code backup verify} fails on, for the hosts of one cluster read back: empty when the newest backup (by its
     * manifest's time, over every trusted copy) has at least one copy that is trusted and read back whole; else why not.
     */
    public static Optional<String> newestWithoutGoodCopy(String cluster, List<FleetBackups.HostBackups> hosts) {
        Map<String, List<Candidate>> byId = new TreeMap<>();
        Optional<Candidate> newest = Optional.empty();
        for (FleetBackups.HostBackups h : hosts) {
            for (BackupEntry b : h.backups()) {
                byId.computeIfAbsent(b.getId(), id -> new ArrayList<>()).add(new Candidate(b, h.host()));
                if (b.getTrusted() && (newest.isEmpty()
                        || Instant.parse(b.getTakenAt()).isAfter(Instant.parse(newest.get().backup().getTakenAt())))) {
                    newest = Optional.of(new Candidate(b, h.host()));
                }
            }
        }
        if (newest.isEmpty()) {
            return Optional.of(cluster + ": no backup with a trusted manifest on any host that answered");
        }
        List<Candidate> copies = byId.get(newest.get().backup().getId());
        if (copies.stream().anyMatch(c -> c.backup().getTrusted() && c.backup().getReadBackOk() && c.backup().getProblem().isEmpty())) {
            return Optional.empty();
        }
        List<String> why = copies.stream().map(c -> c.holder() + ": " + (c.backup().getProblem().isEmpty() ? "not read back"
                : c.backup().getProblem())).toList();
        return Optional.of(cluster + ": the newest backup " + newest.get().backup().getId() + " has no good copy (" + String.join("; ", why)
                + ")");
    }
}
