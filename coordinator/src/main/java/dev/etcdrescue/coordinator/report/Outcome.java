package dev.etcdrescue.coordinator.report;

/** Per host and phase, counted as Ansible's PLAY RECAP counts them. */
public enum Outcome {
    OK, CHANGED, SKIPPED, FAILED;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
