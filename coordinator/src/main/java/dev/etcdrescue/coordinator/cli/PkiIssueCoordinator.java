package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.IoErrors;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.Pem;
import dev.etcdrescue.pki.PublicKeyPins;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A new coordinator certificate, valid for days rather than years (decision 0019): minted when it is
 * needed, from a CA kept elsewhere, so a leaked coordinator directory is worth little for long.
 */
@Command(name = "issue-coordinator", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Issues a new coordinator certificate, valid for a few days.",
        description = {
            "Writes DIR/coordinator.pem and DIR/coordinator-key.pem (and DIR/ca.pem when missing) from the CA in CA_DIR.",
            "Files already there are moved aside to <file>.old-<timestamp>.",
            "",
            "With --keep-key the existing key is certified again (agents that pin it with",
            "tls.coordinator_spki_sha256 keep accepting it); otherwise a new key is made.",
            ""
        },
        footer = {
            "",
            "Examples:",
            "  etcd-rescue pki issue-coordinator --dir ./pki --ca-dir /media/offline/pki-ca",
            "  etcd-rescue pki issue-coordinator --dir ./pki --ca-dir /media/offline/pki-ca --valid-for 1 --keep-key"
        })
final class PkiIssueCoordinator implements java.util.concurrent.Callable<Integer> {
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT);
    private static final DateTimeFormatter UNTIL = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'", Locale.ROOT);

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--dir", required = true, paramLabel = "DIR", description = "The coordinator's directory (the inventory's tls_dir).")
    Path dir;

    @Option(names = "--ca-dir", paramLabel = "CA_DIR",
            description = "The CA's directory (default: DIR-ca beside DIR, or DIR itself when it holds ca-key.pem).")
    Path caDir;

    @Option(names = "--valid-for", defaultValue = "7", paramLabel = "DAYS",
            description = "Days the certificate is valid (default: ${DEFAULT-VALUE}).")
    int validForDays;

    @Option(names = "--keep-key", description = "Certify the key of the existing DIR/coordinator.pem again instead of a new one.")
    boolean keepKey;

    @Option(names = "--coordinator-cn", defaultValue = PkiCommand.DEFAULT_COORDINATOR_CN, paramLabel = "NAME",
            description = "Common name of a new certificate (default: ${DEFAULT-VALUE}); --keep-key keeps the old one's.")
    String coordinatorCn;

    @Override
    public Integer call() {
        if (validForDays < 1 || validForDays > 825) {
            throw PkiCommand.usage("--valid-for must be 1 to 825 days, got " + validForDays);
        }
        Duration validity = Duration.ofDays(validForDays);
        CertificateAuthority ca = PkiCommand.loadCa(caDir, dir);
        Path cert = dir.resolve("coordinator.pem");
        Path key = dir.resolve("coordinator-key.pem");
        Path trust = dir.resolve("ca.pem");
        IssuedCertificate issued = keepKey ? ca.renewCoordinator(existing(cert, key), validity)
                : ca.issueCoordinator(coordinatorCn, validity);
        PrintWriter out = spec.commandLine().getOut();
        String stamp = STAMP.format(ZonedDateTime.now(ZoneOffset.UTC));
        for (Path old : PkiCommand.existing(List.of(cert, key))) {
            out.println("moved aside: " + old + " -> " + PkiIssue.moveAside(old, stamp));
        }
        try {
            if (PkiCommand.existing(List.of(trust)).isEmpty()) {
                Pem.writeCertificate(trust, ca.certificate());
            }
            issued.writeTo(cert, key);
        } catch (FileAlreadyExistsException e) {
            throw new UserException(FailureKind.BAD_INPUT, "refusing to overwrite " + e.getFile() + ", created meanwhile by someone else", e);
        } catch (IOException e) {
            throw new UserException(FailureKind.PHASE_FAILED, "cannot write " + cert + ": " + IoErrors.describe(e), e);
        }
        out.println("issued coordinator: " + cert + ", " + key + " (" + validFor(issued) + ")");
        out.println("coordinator key pin: " + PublicKeyPins.spkiSha256(issued.certificate())
                + " (agent.yaml tls.coordinator_spki_sha256, optional)");
        out.flush();
        return ExitCodes.OK;
    }

    private static IssuedCertificate existing(Path cert, Path key) {
        try {
            return new IssuedCertificate(Pem.readCertificate(cert), Pem.readPrivateKey(key));
        } catch (IOException | RuntimeException e) {
            throw new UserException(FailureKind.BAD_INPUT, "--keep-key needs the existing " + cert + " and " + key + ": "
                    + e.getMessage(), e);
        }
    }

    static String validFor(IssuedCertificate issued) {
        return "valid until " + UNTIL.format(issued.certificate().getNotAfter().toInstant().atZone(ZoneOffset.UTC));
    }
}
