package dev.etcdrescue.agent.backup;

import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The backup facts an alert is written on, read at each scrape: when the newest trusted backup here was
 * taken (alert when too old), how many backups this agent failed to take, the last one's size and
 * duration, and the last drill's time and outcome.
 */
public final class BackupMetrics {
    private BackupMetrics() {}

    public static MetricSnapshots of(BackupScheduler scheduler) {
        List<MetricSnapshot> out = new ArrayList<>();
        String cluster = scheduler.config().cluster().orElse("");
        Labels labels = Labels.of("cluster", cluster);
        List<BackupStore.Listed> listed;
        try {
            listed = scheduler.store().list();
        } catch (IOException e) {
            listed = List.of();
        }
        long trusted = listed.stream().filter(BackupStore.Listed::trusted).count();
        Optional<BackupStore.Listed> newest = listed.stream().filter(BackupStore.Listed::trusted)
                .max(Comparator.comparing(l -> Instant.parse(l.manifest().takenAt())));
        out.add(gauge("etcd_rescue_backup_count", "Backups in this agent's backup dir, by whether their signed manifest holds.",
                Labels.of("cluster", cluster, "state", "trusted"), trusted, Labels.of("cluster", cluster, "state", "untrusted"),
                listed.size() - trusted));
        newest.ifPresent(n -> out.add(gauge("etcd_rescue_backup_newest_timestamp_seconds",
                "When the newest trusted backup in this agent's dir was taken (Unix time).", labels,
                Instant.parse(n.manifest().takenAt()).toEpochMilli() / 1000.0)));
        BackupScheduler.Activity a = scheduler.activity();
        out.add(CounterSnapshot.builder().name("etcd_rescue_backup_failures").help("Backups this agent failed to take since it started.")
                .dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(a.failures()).labels(labels).build()).build());
        if (a.lastTaken() != null) {
            out.add(gauge("etcd_rescue_backup_last_duration_seconds", "How long this agent's last backup took, snapshot to manifest.",
                    labels, a.lastSeconds()));
            out.add(gauge("etcd_rescue_backup_last_size_bytes", "The last backup this agent took: the snapshot, and the file as stored.",
                    Labels.of("cluster", cluster, "kind", "snapshot"), a.lastTaken().snapshotSize(),
                    Labels.of("cluster", cluster, "kind", "stored"), a.lastTaken().fileSize()));
        }
        if (scheduler.config().s3().isPresent()) {
            out.add(CounterSnapshot.builder().name("etcd_rescue_backup_s3_uploads")
                    .help("Copies of this agent's backups uploaded to object storage since it started, by outcome (failed: nothing counted there).")
                    .dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(a.objectUploads())
                            .labels(Labels.of("cluster", cluster, "result", "ok")).build())
                    .dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(a.objectFailures())
                            .labels(Labels.of("cluster", cluster, "result", "failed")).build()).build());
            if (a.lastUpload() != null) {
                out.add(gauge("etcd_rescue_backup_s3_last_upload_timestamp_seconds",
                        "When this agent's last copy in object storage was uploaded and read back (Unix time).", labels,
                        a.lastUploadAt().toEpochMilli() / 1000.0));
                out.add(gauge("etcd_rescue_backup_s3_last_upload_duration_seconds",
                        "How long the last upload took: file, read-back, manifest.", labels, a.lastUpload().seconds()));
            }
        }
        listed.stream().map(l -> RestoreDrill.last(scheduler.store().dir(), l.id())).flatMap(Optional::stream)
                .max(Comparator.comparing(r -> Instant.parse(r.at()))).ifPresent(d -> {
                    out.add(gauge("etcd_rescue_drill_last_timestamp_seconds", "When the last restore drill here ran (Unix time).", labels,
                            Instant.parse(d.at()).toEpochMilli() / 1000.0));
                    out.add(gauge("etcd_rescue_drill_last_success", "1 when the last restore drill here restored and matched, else 0.",
                            labels, d.ok() ? 1 : 0));
                    out.add(gauge("etcd_rescue_drill_last_duration_seconds", "How long the last restore drill here took.", labels,
                            d.seconds()));
                });
        return new MetricSnapshots(out);
    }

    private static GaugeSnapshot gauge(String name, String help, Labels labels, double value) {
        return GaugeSnapshot.builder().name(name).help(help)
                .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(labels).value(value).build()).build();
    }

    private static GaugeSnapshot gauge(String name, String help, Labels first, double firstValue, Labels second, double secondValue) {
        return GaugeSnapshot.builder().name(name).help(help)
                .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(first).value(firstValue).build())
                .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(second).value(secondValue).build()).build();
    }
}
