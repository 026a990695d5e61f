package dev.etcdrescue.agent.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.http.ExecutableHttpRequest;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;

/**
 * A body of known length is streamed, not collected in the heap first: the server (a plain socket on loopback) has half
 * of it while the client is still reading the rest from its source, and gets exactly the length announced.
 */
@Timeout(60)
class StreamingHttpClientTest {
    private static final long TOTAL = 8L << 20;
    private static final long HALF = TOTAL / 2;

    @Test
    void aBodyOfKnownLengthReachesTheServerWhileItIsStillBeingRead() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CountDownLatch serverHasHalf = new CountDownLatch(1);
            CompletableFuture<String> received = CompletableFuture.supplyAsync(() -> serve(server, serverHasHalf));
            AtomicBoolean streamed = new AtomicBoolean();
            InputStream body = new InputStream() {
                private long given;

                @Override
                public int read() {
                    throw new UnsupportedOperationException("read in blocks");
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (given >= TOTAL) {
                        return -1;
                    }
                    if (given == HALF + (1 << 20)) {
                        // A client that buffers has sent nothing yet, so the server never gets half: this waits in vain.
                        try {
                            streamed.set(serverHasHalf.await(10, TimeUnit.SECONDS));
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new IOException(e);
                        }
                    }
                    int n = (int) Math.min(Math.min(len, 64 << 10), TOTAL - given);
                    java.util.Arrays.fill(b, off, off + n, (byte) 'x');
                    given += n;
                    return n;
                }
            };
            SdkHttpFullRequest request = SdkHttpFullRequest.builder().method(SdkHttpMethod.PUT)
                    .uri(URI.create("http://127.0.0.1:" + server.getLocalPort() + "/bucket/key"))
                    .putHeader("Content-Length", Long.toString(TOTAL)).putHeader("X-Amz-Date", "20261206T000000Z").build();
            ExecutableHttpRequest call = new StreamingHttpClient(Duration.ofSeconds(5), Duration.ofSeconds(30))
                    .prepareRequest(HttpExecuteRequest.builder().request(request).contentStreamProvider(() -> body).build());

            HttpExecuteResponse response = call.call();

            assertThat(response.httpResponse().statusCode()).isEqualTo(200);
            assertThat(new String(response.responseBody().orElseThrow().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("ok");
            assertThat(streamed).as("the server had half of the body while the client still read the rest").isTrue();
            assertThat(received.get(30, TimeUnit.SECONDS)).contains("content-length: " + TOTAL).contains("x-amz-date: 20261206t000000z")
                    .contains("body " + TOTAL);
        }
    }

    /** Reads one request; counts down {@code half} once half of the body is in; answers 200 "ok"; returns what it saw. */
    private static String serve(ServerSocket server, CountDownLatch half) {
        try (Socket s = server.accept(); InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                int c = in.read();
                if (c < 0) {
                    return "closed in the headers";
                }
                head.write(c);
            }
            String headers = head.toString(StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT);
            long length = headers.lines().filter(l -> l.startsWith("content-length:")).map(l -> Long.parseLong(l.substring(15).strip()))
                    .findFirst().orElse(-1L);
            long got = 0;
            byte[] buffer = new byte[64 << 10];
            while (got < length) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, length - got));
                if (n < 0) {
                    break;
                }
                got += n;
                if (got >= HALF) {
                    half.countDown();
                }
            }
            out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            return headers + "body " + got;
        } catch (IOException e) {
            return "failed: " + e;
        }
    }
}
