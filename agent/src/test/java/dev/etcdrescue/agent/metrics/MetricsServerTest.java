package dev.etcdrescue.agent.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class MetricsServerTest {
    @Test
    void servesPrometheusTextMadeAtEachScrapeAndNothingElse() throws Exception {
        AtomicInteger scrapes = new AtomicInteger();
        try (MetricsServer server = MetricsServer.start(new InetSocketAddress("127.0.0.1", 0), () -> MetricSnapshots.of(
                GaugeSnapshot.builder().name("etcd_rescue_backup_newest_timestamp_seconds").help("h")
                        .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(Labels.of("cluster", "prod-a"))
                                .value(scrapes.incrementAndGet()).build()).build()))) {
            HttpClient http = HttpClient.newHttpClient();
            URI metrics = URI.create("http://127.0.0.1:" + server.port() + "/metrics");
            HttpResponse<String> first = http.send(HttpRequest.newBuilder(metrics).build(), HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> second = http.send(HttpRequest.newBuilder(metrics).build(), HttpResponse.BodyHandlers.ofString());

            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(first.headers().firstValue("Content-Type")).get().asString().startsWith("text/plain; version=0.0.4");
            assertThat(first.body()).contains("# TYPE etcd_rescue_backup_newest_timestamp_seconds gauge",
                    "etcd_rescue_backup_newest_timestamp_seconds{cluster=\"prod-a\"} 1.0");
            assertThat(second.body()).contains("{cluster=\"prod-a\"} 2.0");
            assertThat(http.send(HttpRequest.newBuilder(metrics).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(405);
            assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(404);
        }
    }
}
