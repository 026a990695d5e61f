package dev.etcdrescue.pki;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;

/**
 * PEM files of certificates and private keys. Keys are always written as PKCS#8
 * ({@code BEGIN PRIVATE KEY}) because Netty's PEM loader reads only that form; reading also
 * accepts the traditional {@code BEGIN EC PRIVATE KEY} that openssl writes.
 */
public final class Pem {
    private static final Set<PosixFilePermission> KEY_MODE = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> CERT_MODE = PosixFilePermissions.fromString("rw-r--r--");

    private Pem() {}

    /** The first certificate of a PEM file. */
    public static X509Certificate readCertificate(Path file) throws IOException {
        List<X509Certificate> certificates = readCertificates(file);
        if (certificates.isEmpty()) {
            throw new IOException(file + " holds no PEM certificate (expected '-----BEGIN CERTIFICATE-----')");
        }
        return certificates.get(0);
    }

    /** Every certificate of a PEM file, in file order (a chain or a bundle). */
    public static List<X509Certificate> readCertificates(Path file) throws IOException {
        List<X509Certificate> certificates = new ArrayList<>();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
             PEMParser parser = new PEMParser(reader)) {
            for (Object object = parser.readObject(); object != null; object = parser.readObject()) {
                if (object instanceof X509CertificateHolder holder) {
                    certificates.add(toCertificate(holder));
                }
            }
        }
        return certificates;
    }

    /** The private key of a PEM file: PKCS#8 or a traditional EC/RSA key. */
    public static PrivateKey readPrivateKey(Path file) throws IOException {
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
             PEMParser parser = new PEMParser(reader)) {
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            for (Object object = parser.readObject(); object != null; object = parser.readObject()) {
                if (object instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
                if (object instanceof PEMKeyPair pair) {
                    return converter.getPrivateKey(pair.getPrivateKeyInfo());
                }
            }
        }
        throw new IOException(file + " holds no unencrypted PEM private key (expected '-----BEGIN PRIVATE KEY-----')");
    }

    /** The PEM text of a certificate. */
    public static String toPem(X509Certificate certificate) {
        try {
            return toPem(new PemObject("CERTIFICATE", certificate.getEncoded()));
        } catch (CertificateException e) {
            throw new IllegalStateException("cannot encode certificate " + certificate.getSubjectX500Principal(), e);
        }
    }

    /** The PKCS#8 PEM text of a private key. */
    public static String toPem(PrivateKey key) {
        return toPem(new PemObject("PRIVATE KEY", key.getEncoded()));
    }

    /** Writes a new certificate file, mode 0644; refuses if the file exists. */
    public static void writeCertificate(Path file, X509Certificate certificate) throws IOException {
        writeNew(file, toPem(certificate), CERT_MODE);
    }

    /**
     * Replaces {@code file} with {@code crl} (mode 0644): a new file beside it, then a rename, so an
     * agent reading it meanwhile sees the old list or the new one, never half of one.
     */
    public static void replaceCrl(Path file, X509CRL crl) throws IOException {
        String text;
        try {
            text = toPem(new PemObject("X509 CRL", crl.getEncoded()));
        } catch (java.security.cert.CRLException e) {
            throw new IOException("encoding the CRL failed: " + e.getMessage(), e);
        }
        Path next = file.resolveSibling(file.getFileName() + ".new");
        Files.deleteIfExists(next);
        writeNew(next, text, CERT_MODE);
        Files.move(next, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** Writes a new PKCS#8 key file, mode 0600 from its creation on; refuses if the file exists. */
    public static void writePrivateKey(Path file, PrivateKey key) throws IOException {
        writeNew(file, toPem(key), KEY_MODE);
    }

    /** Fails with {@link FileAlreadyExistsException} naming the first of {@code files} that exists. */
    static void requireAbsent(Path... files) throws FileAlreadyExistsException {
        for (Path file : files) {
            if (Files.exists(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                throw refusal(file);
            }
        }
    }

    private static FileAlreadyExistsException refusal(Path file) {
        return new FileAlreadyExistsException(file.toString(), null,
                "refusing to overwrite an existing file; move it aside first");
    }

    private static String toPem(PemObject object) {
        StringWriter out = new StringWriter();
        try (PemWriter writer = new PemWriter(out)) {
            writer.writeObject(object);
        } catch (IOException e) {
            throw new IllegalStateException("writing PEM to memory failed", e);
        }
        return out.toString();
    }

    // CREATE_NEW with the mode as a creation attribute: the key is never readable by others, not even briefly.
    private static void writeNew(Path file, String text, Set<PosixFilePermission> mode) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Set<StandardOpenOption> options = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        FileAttribute<?>[] attributes = supportsPosix(parent)
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(mode)}
                : new FileAttribute<?>[0];
        try (SeekableByteChannel channel = Files.newByteChannel(file, options, attributes)) {
            ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
        } catch (FileAlreadyExistsException e) {
            throw refusal(file);
        }
        if (supportsPosix(parent)) {
            // The umask may have removed bits from the creation mode; set exactly what we mean.
            Files.setPosixFilePermissions(file, mode);
        }
    }

    private static boolean supportsPosix(Path dir) {
        return dir != null && dir.getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    private static X509Certificate toCertificate(X509CertificateHolder holder) throws IOException {
        try {
            return new JcaX509CertificateConverter().getCertificate(holder);
        } catch (CertificateException e) {
            throw new IOException("cannot decode certificate " + holder.getSubject(), e);
        }
    }
}
