package dev.etcdrescue.agent.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves {@code GET /metrics} in Prometheus' text format on the address agent.yaml's {@code metrics.listen}
 * names, plain HTTP and read-only: what it shows is when backups and drills last succeeded, never data.
 * The snapshots are made at each scrape.
 */
public final class MetricsServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MetricsServer.class);
    private final HttpServer server;

    private MetricsServer(HttpServer server) {
        this.server = server;
    }

    public static MetricsServer start(InetSocketAddress listen, Supplier<MetricSnapshots> metrics) throws IOException {
        HttpServer server = HttpServer.create(listen, 8);
        PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
        server.createContext("/metrics", exchange -> answer(exchange, writer, metrics));
        server.createContext("/", exchange -> {
            exchange.sendResponseHeaders(404, -1);
            exchange.close();
        });
        server.start();
        log.info("serving Prometheus metrics on http://{}:{}/metrics", listen.getHostString(), server.getAddress().getPort());
        return new MetricsServer(server);
    }

    private static void answer(HttpExchange exchange, PrometheusTextFormatWriter writer, Supplier<MetricSnapshots> metrics)
            throws IOException {
        try (exchange) {
            if (!exchange.getRequestMethod().equals("GET")) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            writer.write(body, metrics.get(), EscapingScheme.UNDERSCORE_ESCAPING);
            exchange.getResponseHeaders().set("Content-Type", writer.getContentType());
            exchange.sendResponseHeaders(200, body.size());
            try (OutputStream out = exchange.getResponseBody()) {
                body.writeTo(out);
            }
        } catch (RuntimeException e) {
            log.warn("metrics scrape failed: {}", e.toString());
        }
    }

    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
