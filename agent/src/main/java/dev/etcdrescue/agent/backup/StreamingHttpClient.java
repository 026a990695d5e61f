package dev.etcdrescue.agent.backup;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import software.amazon.awssdk.http.AbortableInputStream;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.ExecutableHttpRequest;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.SdkHttpFullResponse;
import software.amazon.awssdk.http.SdkHttpRequest;

/**
 * The SDK's HTTP on the JDK's {@link HttpURLConnection}, with each request body streamed: a body of known length goes out
 * in fixed-length streaming mode, straight from the SDK's stream to the socket. The SDK's own {@code url-connection-client}
 * sets no streaming mode for a body whose length is known, and {@code HttpURLConnection} then holds the whole body in the
 * heap before it sends it: a part of 8 MiB in an agent whose heap is 32 MiB (decision 0028). One connection per request
 * (the JDK keeps an idle one a few seconds for the next), no pool, no thread of its own.
 */
final class StreamingHttpClient implements SdkHttpClient {
    /** Set by the JDK itself from the connection (Host, Content-Length) or not wanted (Expect: the JDK waits on it). */
    private static final Set<String> NOT_FORWARDED = Set.of("host", "content-length", "expect", "transfer-encoding", "connection");
    private final Duration connectTimeout;
    private final Duration readTimeout;

    StreamingHttpClient(Duration connectTimeout, Duration readTimeout) {
        this.connectTimeout = connectTimeout;
        this.readTimeout = readTimeout;
    }

    @Override
    public ExecutableHttpRequest prepareRequest(HttpExecuteRequest request) {
        SdkHttpRequest r = request.httpRequest();
        HttpURLConnection c;
        try {
            c = (HttpURLConnection) r.getUri().toURL().openConnection();
            c.setRequestMethod(r.method().name());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        c.setConnectTimeout((int) connectTimeout.toMillis());
        c.setReadTimeout((int) readTimeout.toMillis());
        c.setInstanceFollowRedirects(false);
        c.setUseCaches(false);
        r.forEachHeader((name, values) -> {
            if (!NOT_FORWARDED.contains(name.toLowerCase(java.util.Locale.ROOT))) {
                values.forEach(v -> c.addRequestProperty(name, v));
            }
        });
        if (r.firstMatchingHeader("Accept").isEmpty()) {
            c.setRequestProperty("Accept", "*/*");
        }
        Optional<ContentStreamProvider> body = request.contentStreamProvider();
        if (body.isPresent()) {
            c.setDoOutput(true);
            Optional<String> length = r.firstMatchingHeader("Content-Length");
            if (length.isPresent()) {
                c.setFixedLengthStreamingMode(Long.parseLong(length.get()));
            } else {
                c.setChunkedStreamingMode(0);
            }
        }
        return new ExecutableHttpRequest() {
            @Override
            public HttpExecuteResponse call() throws IOException {
                if (body.isPresent()) {
                    try (InputStream in = body.get().newStream(); OutputStream out = c.getOutputStream()) {
                        in.transferTo(out);
                    }
                }
                int code = c.getResponseCode();
                InputStream content = code >= 400 ? c.getErrorStream() : c.getInputStream();
                Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
                c.getHeaderFields().forEach((name, values) -> {
                    if (name != null) {
                        headers.put(name, values);
                    }
                });
                SdkHttpFullResponse response = SdkHttpFullResponse.builder().statusCode(code).statusText(c.getResponseMessage())
                        .headers(headers).build();
                return HttpExecuteResponse.builder().response(response)
                        .responseBody(content == null ? AbortableInputStream.createEmpty() : AbortableInputStream.create(content, c::disconnect))
                        .build();
            }

            @Override
            public void abort() {
                c.disconnect();
            }
        };
    }

    @Override
    public String clientName() {
        return "UrlConnection";
    }

    @Override
    public void close() {
        // Nothing held between requests.
    }
}
