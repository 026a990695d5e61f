package dev.etcdrescue.coordinator.cli;

import static dev.etcdrescue.coordinator.cli.PkiCommand.*;

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
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "init", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Creates the fleet CA and the coordinator's certificate.",
        description = {
            "Creates the fleet CA in CA_DIR and the coordinator's client certificate in DIR:",
            "  CA_DIR/ca.pem, ca-key.pem   the CA; keep it offline: only pki issue, issue-coordinator and revoke need it",
            "  DIR/ca.pem                  the CA's certificate, which the coordinator trusts",
            "  DIR/coordinator.pem,        the coordinator's certificate, valid 7 days unless --validity says otherwise",
            "  DIR/coordinator-key.pem     (CN=etcd-rescue-coordinator, OU=coordinator)",
            "",
            "Refuses if any of these files exists: a new CA would lock out every agent certified by the old one.",
            ""
        },
        footer = {
            "",
            "Examples:",
            "  etcd-rescue pki init --dir ./pki",
            "  etcd-rescue pki init --dir ./pki --ca-dir /media/offline/pki-ca --validity P1D"
        })
final class PkiInit implements java.util.concurrent.Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--dir", required = true, paramLabel = "DIR",
            description = "Directory for the coordinator's files (created if missing).")
    Path dir;

    @Option(names = "--ca-dir", paramLabel = "CA_DIR",
            description = "Directory for the CA's certificate and key (default: DIR-ca beside DIR); not DIR itself.")
    Path caDir;

    @Option(names = "--ca-validity", defaultValue = "P3650D", paramLabel = "DURATION",
            description = "How long the CA is valid, ISO-8601 (default: ${DEFAULT-VALUE}).")
    Duration caValidity;

    @Option(names = "--validity", defaultValue = "P7D", paramLabel = "DURATION",
            description = "How long the coordinator's certificate is valid, ISO-8601 (default: ${DEFAULT-VALUE});"
                    + " renew it with 'pki issue-coordinator'.")
    Duration validity;

    @Option(names = "--coordinator-cn", defaultValue = DEFAULT_COORDINATOR_CN, paramLabel = "NAME",
            description = "Common name of the coordinator's certificate (agents may pin it with coordinator_cn; default: ${DEFAULT-VALUE}).")
    String coordinatorCn;

    @Override
    public Integer call() {
        requirePositive("--ca-validity", caValidity);
        requirePositive("--validity", validity);
        Path cas = caDir == null ? defaultCaDir(dir) : caDir;
        if (cas.toAbsolutePath().normalize().equals(dir.toAbsolutePath().normalize())) {
            throw usage("--ca-dir must differ from --dir: the CA key is not kept beside the coordinator's key");
        }
        Path caCert = cas.resolve("ca.pem");
        Path caKey = cas.resolve("ca-key.pem");
        Path trust = dir.resolve("ca.pem");
        Path cert = dir.resolve("coordinator.pem");
        Path key = dir.resolve("coordinator-key.pem");
        List<Path> existing = existing(List.of(caCert, caKey, trust, cert, key));
        if (!existing.isEmpty()) {
            throw new UserException(FailureKind.BAD_INPUT, "refusing to create a new CA: " + join(existing) + " already exist"
                    + (existing.size() == 1 ? "s" : "") + ". A new CA would lock out every agent certified by the old one; "
                    + "to issue agent certificates from the existing CA use 'etcd-rescue pki issue --dir " + dir
                    + "', or pick another --dir");
        }
        CertificateAuthority ca = CertificateAuthority.create(FLEET_CA_CN, caValidity);
        IssuedCertificate coordinator = ca.issueCoordinator(coordinatorCn, validity);
        try {
            ca.writeTo(caCert, caKey);
            Pem.writeCertificate(trust, ca.certificate());
            coordinator.writeTo(cert, key);
        } catch (FileAlreadyExistsException e) {
            throw new UserException(FailureKind.BAD_INPUT, "refusing to overwrite " + e.getFile() + ", created meanwhile by someone else", e);
        } catch (IOException e) {
            throw new UserException(FailureKind.PHASE_FAILED, "cannot write the PKI files in " + dir + ": " + IoErrors.describe(e), e);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("created CA:          " + caCert + ", " + caKey + " (mode 0600; keep " + cas
                + " offline, off the etcd hosts and away from " + dir + ")");
        out.println("created coordinator: " + cert + ", " + key + " (CN=" + coordinatorCn + ", OU=coordinator, "
                + PkiIssueCoordinator.validFor(coordinator) + ")");
        out.println("coordinator key pin: " + PublicKeyPins.spkiSha256(coordinator.certificate())
                + " (agent.yaml tls.coordinator_spki_sha256, optional)");
        out.println("next: etcd-rescue pki issue --dir " + dir + (caDir == null ? "" : " --ca-dir " + caDir)
                + " --inventory INVENTORY");
        out.flush();
        return ExitCodes.OK;
    }
}
