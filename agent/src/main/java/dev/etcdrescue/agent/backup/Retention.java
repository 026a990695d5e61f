package dev.etcdrescue.agent.backup;

import dev.etcdrescue.agent.config.BackupConfig;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which backups to keep: grandfather-father-son tiers over the verified backups, with floors no setting can
 * lower (the newest verified backup, the newest one a drill restored). Backups that did not verify are
 * never chosen here: they are listed with the reason, and only an operator removes them.
 */
public final class Retention {
    private Retention() {}

    /** One backup as retention sees it. */
    public record Candidate(String id, Instant takenAt, boolean verified, boolean drilled) {}

    /** Every verified backup is in exactly one of the two, each kept one with the first reason that keeps it. */
    public record Decision(Map<String, String> keep, List<String> remove) {}

    public static Decision decide(List<Candidate> backups, Instant now, BackupConfig.Retention policy) {
        List<Candidate> verified = backups.stream().filter(Candidate::verified)
                .sorted(Comparator.comparing(Candidate::takenAt).reversed()).toList();
        Map<String, String> keep = new LinkedHashMap<>();
        if (!verified.isEmpty()) {
            keep.put(verified.get(0).id(), "the newest verified backup");
        }
        verified.stream().filter(Candidate::drilled).findFirst()
                .ifPresent(c -> keep.putIfAbsent(c.id(), "the newest backup a drill restored"));
        for (int i = 0; i < Math.min(policy.keepLast(), verified.size()); i++) {
            keep.putIfAbsent(verified.get(i).id(), "one of the newest " + policy.keepLast());
        }
        tier(verified, now, ChronoUnit.HOURS, Duration.ofHours(1), policy.hourly(), "hour", keep);
        tier(verified, now, ChronoUnit.DAYS, Duration.ofDays(1), policy.daily(), "day", keep);
        tier(verified, now, ChronoUnit.DAYS, Duration.ofDays(7), policy.weekly(), "week", keep);
        List<String> remove = new ArrayList<>();
        verified.forEach(c -> {
            if (!keep.containsKey(c.id())) {
                remove.add(c.id());
            }
        });
        return new Decision(keep, remove);
    }

    /**
     * The newest backup of each of the last {@code count} periods of length {@code period}, counted back from
     * the period {@code now} is in (periods start at the epoch, in UTC: a day is a UTC day, a week seven of them).
     */
    private static void tier(List<Candidate> newestFirst, Instant now, ChronoUnit unit, Duration period, int count, String what,
                             Map<String, String> keep) {
        long current = index(now, unit, period);
        long seen = Long.MAX_VALUE;
        for (Candidate c : newestFirst) {
            long p = index(c.takenAt(), unit, period);
            if (current - p >= count) {
                break;
            }
            if (p != seen) {
                seen = p;
                keep.putIfAbsent(c.id(), "the newest of its " + what + " (the last " + count + " " + what + "s are kept)");
            }
        }
    }

    private static long index(Instant t, ChronoUnit unit, Duration period) {
        return Math.floorDiv(t.truncatedTo(unit).getEpochSecond(), period.getSeconds());
    }
}
