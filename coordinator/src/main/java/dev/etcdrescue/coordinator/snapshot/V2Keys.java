package dev.etcdrescue.coordinator.snapshot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.OptionalLong;

/**
 * Counts the keys of etcd's v2 store on a member. A v3 snapshot does not hold them (the seed warns
 * about it): a restore silently loses them unless the operator knows and agrees.
 */
public final class V2Keys {
    private final HttpClient http;
    private final Duration timeout;

    public V2Keys(Duration timeout) {
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
    }

    /** The number of v2 keys (directories not counted), or empty when the member does not serve the v2 API. */
    public OptionalLong count(URI clientUrl) {
        if (!"http".equals(clientUrl.getScheme())) {
            return OptionalLong.empty();
        }
        try {
            HttpRequest req = HttpRequest.newBuilder(clientUrl.resolve("/v2/keys/?recursive=true")).timeout(timeout).GET().build();
            HttpResponse<String> resp = http.send(req, HttpResponse.BodyHandlers.ofString());
            if (resp.statusCode() != 200) {
                return OptionalLong.empty();
            }
            JsonNode root = new ObjectMapper().readTree(resp.body()).path("node");
            return OptionalLong.of(leaves(root));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return OptionalLong.empty();
        } catch (Exception e) {
            return OptionalLong.empty();
        }
    }

    private static long leaves(JsonNode node) {
        if (!node.path("dir").asBoolean(false)) {
            return node.has("key") ? 1 : 0;
        }
        long n = 0;
        for (JsonNode child : node.path("nodes")) {
            n += leaves(child);
        }
        return n;
    }
}
