package dev.etcdrescue.coordinator.engine;

/**
 * Compares etcd version strings ("3.4.23", "3.5.16", "v3.5.0-rc.1") by major and minor only: the
 * storage format changes between minor versions, never between patches.
 */
final class EtcdVersions {
    private EtcdVersions() {}

    static int compareMinor(String a, String b) {
        int[] x = parse(a);
        int[] y = parse(b);
        for (int i = 0; i < 2; i++) {
            if (x[i] != y[i]) {
                return Integer.compare(x[i], y[i]);
            }
        }
        return 0;
    }

    /** How many minor versions {@code a} is above {@code b} (negative when below); a major version counts as 100. */
    static int minorsAbove(String a, String b) {
        int[] x = parse(a);
        int[] y = parse(b);
        return x[0] != y[0] ? 100 * (x[0] - y[0]) : x[1] - y[1];
    }

    private static int[] parse(String v) {
        int[] out = new int[3];
        String[] parts = v.strip().replaceFirst("^v", "").split("[.-]");
        for (int i = 0; i < 3 && i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                break;
            }
        }
        return out;
    }
}
