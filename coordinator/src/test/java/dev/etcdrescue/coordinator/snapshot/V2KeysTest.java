package dev.etcdrescue.coordinator.snapshot;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.testsupport.LocalEtcd;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Against real etcd 3.4 members: v2 keys are counted where the v2 API is on, and absent where it is off. */
@Tag("etcd")
@Timeout(120)
class V2KeysTest {
    @TempDir Path dir;

    @Test
    void countsV2KeysInNestedDirectoriesWhenV2IsEnabled() throws Exception {
        try (LocalEtcd etcd = LocalEtcd.start(dir, "v2on", "--enable-v2=true")) {
            HttpClient http = HttpClient.newHttpClient();
            for (String key : new String[] {"/a", "/dir/b", "/dir/sub/c"}) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(etcd.clientUrl().resolve("/v2/keys" + key))
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .PUT(HttpRequest.BodyPublishers.ofString("value=x")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as(r.body()).isIn(200, 201);
            }
            etcd.etcdctl("put", "v3-only", "y");
            assertThat(new V2Keys(Duration.ofSeconds(3)).count(etcd.clientUrl())).hasValue(3);
        }
    }

    @Test
    void noCountWhenV2IsOffOrTheMemberIsGone() throws Exception {
        try (LocalEtcd etcd = LocalEtcd.start(dir, "v2off")) {
            assertThat(new V2Keys(Duration.ofSeconds(3)).count(etcd.clientUrl())).isEmpty();
        }
        assertThat(new V2Keys(Duration.ofSeconds(1)).count(URI.create("http://127.0.0.1:1"))).isEmpty();
    }
}
