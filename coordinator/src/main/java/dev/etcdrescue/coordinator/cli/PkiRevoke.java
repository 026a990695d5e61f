package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.IoErrors;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.Pem;
import dev.etcdrescue.pki.RevocationList;
import java.io.IOException;
import java.io.PrintWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509CRLEntry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Adds certificates to the fleet CA's CRL, which agents honour through agent.yaml's {@code tls.crl}. */
@Command(name = "revoke", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Revokes coordinator or agent certificates: writes the fleet CA's CRL.",
        description = {
            "Adds each certificate (--cert FILE, or --serial HEX) to CA_DIR/crl.pem, keeping those revoked before,",
            "and signs it with the CA. Copy crl.pem to every host (the path agent.yaml's tls.crl names): agents",
            "re-read it when it changes, no restart needed. With no certificate named it re-signs the list as it is.",
            ""
        },
        footer = {
            "",
            "Examples:",
            "  etcd-rescue pki revoke --ca-dir /media/offline/pki-ca --cert ./pki/coordinator.pem.old-20261201T101500Z",
            "  etcd-rescue pki revoke --ca-dir /media/offline/pki-ca --serial 5f3a9c..."
        })
final class PkiRevoke implements java.util.concurrent.Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--ca-dir", required = true, paramLabel = "CA_DIR", description = "The CA's directory; the CRL is CA_DIR/crl.pem.")
    Path caDir;

    @Option(names = "--cert", paramLabel = "FILE", description = "A certificate to revoke (PEM); repeat for more.")
    List<Path> certs = new ArrayList<>();

    @Option(names = "--serial", paramLabel = "HEX", description = "The serial number of a certificate to revoke; repeat for more.")
    List<String> serials = new ArrayList<>();

    @Override
    public Integer call() {
        CertificateAuthority ca = PkiCommand.loadCa(caDir, caDir);
        Path crl = caDir.resolve("crl.pem");
        TreeSet<BigInteger> revoked = new TreeSet<>(previous(crl, ca));
        for (Path cert : certs) {
            try {
                revoked.add(Pem.readCertificate(cert).getSerialNumber());
            } catch (IOException e) {
                throw new UserException(FailureKind.BAD_INPUT, "cannot read the certificate " + cert + ": " + e.getMessage(), e);
            }
        }
        for (String serial : serials) {
            try {
                revoked.add(new BigInteger(serial.replace(":", ""), 16));
            } catch (NumberFormatException e) {
                throw PkiCommand.usage("--serial '" + serial + "' is not a hexadecimal serial number");
            }
        }
        try {
            // nextUpdate is informational only: agents never stop serving because a CRL is old.
            Pem.replaceCrl(crl, ca.revocationList(revoked, Duration.ofDays(365)));
        } catch (IOException e) {
            throw new UserException(FailureKind.PHASE_FAILED, "cannot write " + crl + ": " + IoErrors.describe(e), e);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("wrote " + crl + ": " + revoked.size() + " revoked certificate" + (revoked.size() == 1 ? "" : "s"));
        out.println("next: copy it to every host, e.g. /etc/etcd-rescue/tls/crl.pem, named by tls.crl in agent.yaml");
        out.flush();
        return ExitCodes.OK;
    }

    private static List<BigInteger> previous(Path crl, CertificateAuthority ca) {
        if (!Files.exists(crl)) {
            return List.of();
        }
        try {
            var entries = RevocationList.load(crl, ca.certificate()).crl().getRevokedCertificates();
            return entries == null ? List.of() : entries.stream().map(X509CRLEntry::getSerialNumber).toList();
        } catch (IOException e) {
            throw new UserException(FailureKind.BAD_INPUT, "the existing " + crl + " cannot be read (" + e.getMessage()
                    + "): move it aside, then revoke every certificate again", e);
        }
    }
}
