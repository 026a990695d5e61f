package dev.etcdrescue.coordinator.cli;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.testsupport.LocalEtcd;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seed's warning, enforced: a survivor (a real etcd 3.4 with the v2 API on) holding v2 keys is
 * refused in preflight with their count, before any agent is asked; --allow-v2-loss goes past it.
 */
@Tag("etcd")
@Timeout(120)
class V2RefusalTest {
    @TempDir Path dir;

    @Test
    void survivorWithV2KeysIsRefusedUnlessTheLossIsAllowed() throws Exception {
        try (LocalEtcd etcd = LocalEtcd.start(dir, "v2survivor", "--enable-v2=true")) {
            HttpClient http = HttpClient.newHttpClient();
            for (String key : new String[] {"/legacy/a", "/legacy/b"}) {
                http.send(HttpRequest.newBuilder(etcd.clientUrl().resolve("/v2/keys" + key))
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .PUT(HttpRequest.BodyPublishers.ofString("value=x")).build(), HttpResponse.BodyHandlers.ofString());
            }
            assertThat(Main.run("pki", "init", "--dir", dir.resolve("pki").toString())).isZero();
            int deadAgent;
            try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                deadAgent = s.getLocalPort();
            }
            Path inventory = Files.writeString(dir.resolve("inv.yaml"), """
                    all:
                      vars:
                        tls_dir: %s
                        cluster_token: v2-restored
                        snapshot_endpoints: [%s]
                        agent_port: %d
                      children:
                        v2:
                          hosts:
                            only:
                              address: 127.0.0.1
                    """.formatted(dir.resolve("pki"), etcd.clientUrl(), deadAgent));

            // A lone etcd leads itself: --force-with-leader stands in for a survivor that lost its quorum.
            String refused = run("recover", "-i", inventory.toString(), "--work-dir", dir.resolve("runs").toString(),
                    "--force-with-leader");
            assertThat(exit).isEqualTo(ExitCodes.PREFLIGHT_REFUSED);
            assertThat(refused).contains("2 v2 keys on " + etcd.clientUrl()).contains("--allow-v2-loss");

            String allowed = run("recover", "-i", inventory.toString(), "--work-dir", dir.resolve("runs").toString(), "--allow-v2-loss",
                    "--force-with-leader");
            assertThat(allowed).contains("WARNING: 2 v2 keys").contains("unreachable");
            assertThat(exit).as("goes on to the hosts, whose agent is not there").isEqualTo(ExitCodes.PREFLIGHT_REFUSED);
        }
    }

    private int exit;

    private String run(String... args) {
        PrintStream out = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            exit = Main.run(args);
        } finally {
            System.setOut(out);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }
}
