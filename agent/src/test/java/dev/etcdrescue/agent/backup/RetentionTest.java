package dev.etcdrescue.agent.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.agent.config.BackupConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A week of backups every 30 minutes, as the clock moves on: what stays and what goes. */
@Timeout(30)
class RetentionTest {
    private static final Instant START = Instant.parse("2026-11-01T00:10:00Z");

    private static List<Retention.Candidate> everyHalfHour(Instant until) {
        List<Retention.Candidate> out = new ArrayList<>();
        for (Instant t = START; !t.isAfter(until); t = t.plus(Duration.ofMinutes(30))) {
            out.add(new Retention.Candidate(t.toString(), t, true, false));
        }
        return out;
    }

    @Test
    void tiersKeepTheNewestFewThenOnePerHourDayAndWeek() {
        Instant now = START.plus(Duration.ofDays(30));
        Retention.Decision d = Retention.decide(everyHalfHour(now), now, new BackupConfig.Retention(3, 24, 7, 4));

        assertThat(d.keep()).containsKey(now.toString());
        assertThat(d.keep().get(now.toString())).isEqualTo("the newest verified backup");
        // 3 newest + one per hour of the last 24 (the newest hour's already counted) + days + weeks, overlapping.
        assertThat(d.keep().size()).isBetween(24 + 2, 24 + 2 + 7 + 4);
        Instant oldestKept = d.keep().keySet().stream().map(Instant::parse).min(Instant::compareTo).orElseThrow();
        assertThat(oldestKept).as("the weekly tier keeps the newest of the week three weeks before this one")
                .isBefore(now.minus(Duration.ofDays(14))).isAfter(now.minus(Duration.ofDays(28)));
        assertThat(d.keep().size() + d.remove().size()).isEqualTo(everyHalfHour(now).size());
    }

    @Test
    void theNewestVerifiedAndTheNewestDrilledSurviveAPolicyThatKeepsAlmostNothing() {
        Instant now = START.plus(Duration.ofDays(10));
        List<Retention.Candidate> all = new ArrayList<>(everyHalfHour(now));
        Instant drilled = START.plus(Duration.ofDays(2));
        all.replaceAll(c -> c.takenAt().equals(drilled) ? new Retention.Candidate(c.id(), c.takenAt(), true, true) : c);
        Instant broken = now.plus(Duration.ofMinutes(10));
        all.add(new Retention.Candidate("broken", broken, false, false));

        Retention.Decision d = Retention.decide(all, now, new BackupConfig.Retention(1, 0, 0, 0));

        assertThat(d.keep()).containsOnlyKeys(now.toString(), drilled.toString());
        assertThat(d.keep().get(drilled.toString())).isEqualTo("the newest backup a drill restored");
        assertThat(d.remove()).as("a backup that did not verify is never removed by retention").doesNotContain("broken");
    }

    @Test
    void aBackupOnceKeptAsTheNewestOfItsDayStaysKeptAsTheWeekGoesOn() {
        BackupConfig.Retention policy = new BackupConfig.Retention(2, 6, 7, 0);
        Set<String> removed = new HashSet<>();
        for (int hour = 0; hour < 24 * 7; hour++) {
            Instant now = START.plus(Duration.ofHours(hour));
            List<Retention.Candidate> alive = everyHalfHour(now).stream().filter(c -> !removed.contains(c.id())).toList();
            Retention.Decision d = Retention.decide(alive, now, policy);
            removed.addAll(d.remove());
        }
        Instant end = START.plus(Duration.ofHours(24 * 7 - 1));
        List<String> left = everyHalfHour(end).stream().map(Retention.Candidate::id).filter(id -> !removed.contains(id)).toList();
        for (int day = 0; day < 7; day++) {
            Instant dayStart = START.truncatedTo(java.time.temporal.ChronoUnit.DAYS).plus(Duration.ofDays(day));
            assertThat(left).as("day " + day + " still has a backup")
                    .anyMatch(id -> !Instant.parse(id).isBefore(dayStart) && Instant.parse(id).isBefore(dayStart.plus(Duration.ofDays(1))));
        }
    }
}
