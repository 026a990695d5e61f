package dev.etcdrescue.agent.backup;

import dev.etcdrescue.agent.config.BackupConfig;
import dev.etcdrescue.agent.config.S3Credentials;
import dev.etcdrescue.agent.failpoint.Failpoints;
import dev.etcdrescue.snapshotformat.SnapshotDigest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.retry.RetryMode;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The copies in S3-compatible object storage, through the AWS SDK v2 on the JDK's {@code HttpURLConnection}
 * ({@link StreamingHttpClient}: no Netty event loops, no connection pool of its own, every body streamed; the
 * agent's memory matters, and an upload is one stream at a time). A client is built for each use and closed after,
 * so an idle agent holds none and a rotated key in the credentials file is picked up at the next backup. Checksums
 * are sent and checked only where S3 requires them (WHEN_REQUIRED): S3-compatible stores refuse some of the SDK's
 * newer default ones, and the file is checked here against the signed manifest's SHA-256 anyway, by reading it back.
 */
final class S3Copies implements ObjectCopies {
    /** Files up to this size go up in one PUT; larger ones in parts of this size (each streamed from the file). */
    static final long PART_BYTES = 8L << 20;
    private static final Logger log = LoggerFactory.getLogger(S3Copies.class);
    private static final String DATA = BackupStore.DATA;
    private static final String MANIFEST = BackupStore.MANIFEST;

    private final BackupConfig.S3 config;
    private final String keyPrefix;
    private final Runnable afterPart;
    private final long partBytes;

    /** @param afterPart run after each part (after the one PUT of a small file): the failpoint {@link Failpoints#S3_AFTER_PART} */
    S3Copies(BackupConfig.S3 config, String cluster, Runnable afterPart, long partBytes) {
        this.config = config;
        this.keyPrefix = config.prefix() + cluster + "/";
        this.afterPart = afterPart;
        this.partBytes = Math.max(5L << 20, partBytes);
    }

    @Override
    public String location() {
        return config.location();
    }

    private S3Client client() throws IOException {
        S3Credentials c;
        try {
            c = S3Credentials.read(config.credentialsFile());
        } catch (S3Credentials.Unusable e) {
            throw new IOException("backup.s3.credentials_file: " + e.getMessage(), e);
        }
        AwsCredentials credentials = c.sessionToken().isPresent()
                ? AwsSessionCredentials.create(c.accessKeyId(), c.secretAccessKey(), c.sessionToken().get())
                : AwsBasicCredentials.create(c.accessKeyId(), c.secretAccessKey());
        S3ClientBuilder b = S3Client.builder()
                .httpClient(new StreamingHttpClient(Duration.ofSeconds(5), Duration.ofMinutes(2)))
                .region(Region.of(config.region()))
                .forcePathStyle(config.pathStyle())
                .credentialsProvider(StaticCredentialsProvider.create(credentials))
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .overrideConfiguration(o -> o.retryStrategy(RetryMode.STANDARD).apiCallAttemptTimeout(Duration.ofMinutes(10)));
        config.endpoint().ifPresent(b::endpointOverride);
        return b.build();
    }

    String dataKey(String id) {
        return keyPrefix + id + DATA;
    }

    String manifestKey(String id) {
        return keyPrefix + id + MANIFEST;
    }

    @Override
    public Uploaded upload(BackupManifest manifest, Path file, byte[] envelope) throws IOException {
        long t0 = System.nanoTime();
        String key = dataKey(manifest.id());
        long size = Files.size(file);
        if (size != manifest.fileSize()) {
            throw new IOException(file + " holds " + size + " bytes, its manifest says " + manifest.fileSize());
        }
        try (S3Client s3 = client()) {
            int parts;
            try {
                parts = size <= partBytes ? putWhole(s3, key, file, size) : putInParts(s3, key, file, size);
                String differs = readBack(s3, key, manifest);
                if (differs != null) {
                    throw new IOException("the uploaded " + key + " does not read back: " + differs);
                }
                s3.putObject(r -> r.bucket(config.bucket()).key(manifestKey(manifest.id())).contentType("application/json"),
                        RequestBody.fromBytes(envelope));
                byte[] stored = s3.getObjectAsBytes(r -> r.bucket(config.bucket()).key(manifestKey(manifest.id()))).asByteArray();
                if (!Arrays.equals(stored, envelope)) {
                    throw new IOException("the uploaded manifest " + manifestKey(manifest.id()) + " does not read back as written");
                }
            } catch (IOException | RuntimeException e) {
                // The manifest first: a file without one was never finished; then the file, so that nothing is left behind.
                deleteQuietly(s3, manifestKey(manifest.id()));
                deleteQuietly(s3, key);
                throw e;
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            return new Uploaded(key, size, seconds, parts);
        } catch (SdkException | UncheckedIOException e) {
            throw new IOException(describe(e), e);
        }
    }

    private int putWhole(S3Client s3, String key, Path file, long size) {
        s3.putObject(r -> r.bucket(config.bucket()).key(key).contentLength(size).contentType("application/zstd"),
                RequestBody.fromContentProvider(() -> range(file, 0, size), size, "application/zstd"));
        afterPart.run();
        return 1;
    }

    /** A multipart upload, each part streamed from its range of the file; aborted on any failure, so no part is left. */
    private int putInParts(S3Client s3, String key, Path file, long size) throws IOException {
        String uploadId = s3.createMultipartUpload(r -> r.bucket(config.bucket()).key(key).contentType("application/zstd")).uploadId();
        List<CompletedPart> done = new ArrayList<>();
        try {
            int number = 1;
            for (long offset = 0; offset < size; offset += partBytes, number++) {
                long from = offset;
                long length = Math.min(partBytes, size - offset);
                int n = number;
                String etag = s3.uploadPart(r -> r.bucket(config.bucket()).key(key).uploadId(uploadId).partNumber(n).contentLength(length),
                        RequestBody.fromContentProvider(() -> range(file, from, length), length, "application/octet-stream")).eTag();
                done.add(CompletedPart.builder().partNumber(n).eTag(etag).build());
                afterPart.run();
            }
            s3.completeMultipartUpload(r -> r.bucket(config.bucket()).key(key).uploadId(uploadId)
                    .multipartUpload(m -> m.parts(done)));
            return done.size();
        } catch (RuntimeException e) {
            try {
                s3.abortMultipartUpload(r -> r.bucket(config.bucket()).key(key).uploadId(uploadId));
                log.warn("backup upload to {} failed after {} part(s): multipart upload {} aborted", key, done.size(), uploadId);
            } catch (RuntimeException abort) {
                log.warn("backup upload to {} failed, and aborting multipart upload {} failed too ({}): the store keeps its parts until"
                        + " its lifecycle rule for incomplete uploads removes them; no manifest names them", key, uploadId, describe(abort));
            }
            throw e;
        }
    }

    /** {@code length} bytes of {@code file} from {@code offset}, as a new stream: the SDK may ask again for a retry. */
    private static InputStream range(Path file, long offset, long length) {
        try {
            FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
            ch.position(offset);
            InputStream in = Channels.newInputStream(ch);
            return new InputStream() {
                private long left = length;

                @Override
                public int read() throws IOException {
                    if (left <= 0) {
                        return -1;
                    }
                    int b = in.read();
                    if (b >= 0) {
                        left--;
                    }
                    return b;
                }

                @Override
                public int read(byte[] buf, int off, int len) throws IOException {
                    if (left <= 0) {
                        return -1;
                    }
                    int n = in.read(buf, off, (int) Math.min(len, left));
                    if (n > 0) {
                        left -= n;
                    }
                    return n;
                }

                @Override
                public void close() throws IOException {
                    in.close();
                }
            };
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** GETs {@code key} whole through SHA-256: null when size and digest are the manifest's stored file's, else what differs. */
    private String readBack(S3Client s3, String key, BackupManifest manifest) throws IOException {
        MessageDigest sha = SnapshotDigest.newSha256();
        long n;
        try (ResponseInputStream<GetObjectResponse> in = s3.getObject(r -> r.bucket(config.bucket()).key(key));
             InputStream digested = new DigestInputStream(in, sha)) {
            n = digested.transferTo(OutputStream.nullOutputStream());
        }
        String hex = HexFormat.of().formatHex(sha.digest());
        if (n != manifest.fileSize() || !hex.equals(manifest.fileSha256())) {
            return n + " bytes with SHA-256 " + hex + ", the manifest says " + manifest.fileSize() + " bytes, " + manifest.fileSha256();
        }
        return null;
    }

    private void deleteQuietly(S3Client s3, String key) {
        try {
            s3.deleteObject(r -> r.bucket(config.bucket()).key(key));
        } catch (RuntimeException e) {
            log.warn("could not delete {} from {}: {}", key, location(), describe(e));
        }
    }

    @Override
    public List<Listed> list() throws IOException {
        try (S3Client s3 = client()) {
            List<Listed> out = new ArrayList<>();
            for (S3Object o : s3.listObjectsV2Paginator(r -> r.bucket(config.bucket()).prefix(keyPrefix)).contents()) {
                String name = o.key().substring(keyPrefix.length());
                if (!name.endsWith(MANIFEST) || name.contains("/") || o.size() > (1 << 20)) {
                    continue;
                }
                byte[] envelope = s3.getObjectAsBytes(r -> r.bucket(config.bucket()).key(o.key())).asByteArray();
                out.add(new Listed(name.substring(0, name.length() - MANIFEST.length()), envelope));
            }
            out.sort(java.util.Comparator.comparing(Listed::id));
            return out;
        } catch (SdkException | UncheckedIOException e) {
            throw new IOException(describe(e), e);
        }
    }

    @Override
    public void download(BackupManifest manifest, Path target) throws IOException {
        String key = dataKey(manifest.id());
        try (S3Client s3 = client();
             ResponseInputStream<GetObjectResponse> in = s3.getObject(r -> r.bucket(config.bucket()).key(key));
             OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long n = in.transferTo(out);
            if (n != manifest.fileSize()) {
                throw new IOException(location() + key.substring(config.prefix().length()) + " holds " + n + " bytes, the manifest says "
                        + manifest.fileSize());
            }
        } catch (SdkException | UncheckedIOException e) {
            throw new IOException(describe(e), e);
        }
    }

    /** The SDK's message, which names the status and the store's error code but never the credentials. */
    static String describe(Exception e) {
        String m = e.getMessage();
        return (m == null ? e.getClass().getSimpleName() : m).replaceAll("\\s+", " ");
    }
}
