package dev.etcdrescue.agent.config;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The key pair for object storage, read from {@code backup.s3.credentials_file}, an AWS-style credentials file:
 * {@code aws_access_key_id} and {@code aws_secret_access_key} (and optionally {@code aws_session_token}) at the top or
 * under {@code [default]}. The file must not be readable by group or others. No value of it ever appears in a message
 * or a log line: {@link #toString()} names the key id's last four characters only.
 */
public record S3Credentials(String accessKeyId, String secretAccessKey, Optional<String> sessionToken) {
    private static final Set<PosixFilePermission> TOO_OPEN = Set.of(PosixFilePermission.GROUP_READ, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE);

    /** A credentials file that cannot be used: the message names the file and what to fix, never a secret. */
    public static final class Unusable extends Exception {
        private static final long serialVersionUID = 1L;

        Unusable(String message) {
            super(message);
        }
    }

    /** Reads and checks {@code file}. */
    public static S3Credentials read(Path file) throws Unusable {
        List<String> lines;
        try {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
            if (mode.stream().anyMatch(TOO_OPEN::contains)) {
                throw new Unusable(file + " is readable or writable by group or others: chmod 600 it (it holds the secret key)");
            }
            lines = Files.readAllLines(file);
        } catch (NoSuchFileException e) {
            throw new Unusable(file + " does not exist: write aws_access_key_id and aws_secret_access_key into it (mode 600)");
        } catch (AccessDeniedException e) {
            throw new Unusable(file + ": permission denied (the agent runs as root and reads it at each upload)");
        } catch (IOException | UnsupportedOperationException e) {
            throw new Unusable(file + " cannot be read: " + e.getMessage());
        }
        Map<String, String> values = new HashMap<>();
        String section = "default";
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                continue;
            }
            if (line.startsWith("[") && line.endsWith("]")) {
                section = line.substring(1, line.length() - 1).strip();
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw new Unusable(file + " line " + (i + 1) + ": not key = value (the line itself is not shown: it may hold a secret)");
            }
            if (section.equals("default")) {
                values.put(line.substring(0, eq).strip(), line.substring(eq + 1).strip());
            }
        }
        String id = values.get("aws_access_key_id");
        String secret = values.get("aws_secret_access_key");
        if (id == null || id.isEmpty() || secret == null || secret.isEmpty()) {
            throw new Unusable(file + " has no " + (id == null || id.isEmpty() ? "aws_access_key_id" : "aws_secret_access_key")
                    + " (at the top or under [default])");
        }
        String token = values.get("aws_session_token");
        return new S3Credentials(id, secret, Optional.ofNullable(token).filter(t -> !t.isEmpty()));
    }

    @Override
    public String toString() {
        return "S3Credentials[key id ..." + accessKeyId.substring(Math.max(0, accessKeyId.length() - 4)) + "]";
    }
}
