package dev.etcdrescue.coordinator.rollout;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How a fleet is rolled through, with Ansible's meaning of {@code serial} and
 * {@code max_fail_percentage}: clusters go in batches of {@code serial}; after a batch, the rollout
 * stops when more than {@code maxFailPercentage} percent of that batch failed, or when the whole
 * batch failed (Ansible stops then too, even at 100).
 *
 * @param serial clusters per batch, at least 1
 * @param maxFailPercentage 0..100; 0: any failure stops the rollout
 */
public record RolloutPolicy(int serial, int maxFailPercentage) {
    public RolloutPolicy {
        if (serial < 1) {
            throw new IllegalArgumentException("serial must be at least 1: " + serial);
        }
        if (maxFailPercentage < 0 || maxFailPercentage > 100) {
            throw new IllegalArgumentException("max fail percentage must lie in 0..100: " + maxFailPercentage);
        }
    }

    /**
     * Ansible's {@code serial} value: a count ("2") or a percentage of {@code clusters} ("30%"),
     * rounded down and at least 1, as Ansible's {@code pct_to_int}.
     */
    public static int parseSerial(String value, int clusters) {
        String v = value.strip();
        boolean percent = v.endsWith("%");
        int n;
        try {
            n = Integer.parseInt(percent ? v.substring(0, v.length() - 1).strip() : v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--serial must be a number or a percentage like 30%, not '" + value + "'");
        }
        if (percent) {
            if (n < 1 || n > 100) {
                throw new IllegalArgumentException("--serial percentage must lie in 1%..100%, not '" + value + "'");
            }
            return Math.max(1, n * clusters / 100);
        }
        if (n < 1) {
            throw new IllegalArgumentException("--serial must be at least 1, not '" + value + "'");
        }
        return n;
    }

    /** {@code items} in batches of {@code serial}, in their order; the last batch may be smaller. */
    public <T> List<List<T>> batches(List<T> items) {
        List<List<T>> out = new ArrayList<>();
        for (int start = 0; start < items.size(); start += serial) {
            out.add(List.copyOf(items.subList(start, Math.min(items.size(), start + serial))));
        }
        return out;
    }

    /** Why the rollout stops after a batch of {@code batchSize} clusters of which {@code failed} failed; empty: it goes on. */
    public Optional<String> stopReason(int failed, int batchSize) {
        if (failed == 0) {
            return Optional.empty();
        }
        // Integers only: failed/batchSize > P/100 without rounding.
        if (failed * 100L > (long) maxFailPercentage * batchSize) {
            return Optional.of(failed + " of " + batchSize + " clusters of the batch failed ("
                    + percent(failed, batchSize) + " > --max-fail-percentage " + maxFailPercentage + ")");
        }
        if (failed == batchSize) {
            return Optional.of("every cluster of the batch failed");
        }
        return Optional.empty();
    }

    private static String percent(int failed, int of) {
        long tenths = Math.round(failed * 1000.0 / of);
        return tenths % 10 == 0 ? tenths / 10 + "%" : tenths / 10 + "." + tenths % 10 + "%";
    }
}
